// Assembles what the worker bundles into build/:
//   recsys_wasm.js, recsys_wasm_bg.wasm   the `--target web` glue and module of bindings/wasm
//                                          (made by `bash bindings/wasm/ci.sh`)
//   snapshot.json                          the example tenant's documents (config, rules,
//                                          manifest and every artifact it names), embedded in
//                                          the worker as text at build time
//
//   node build.mjs [--data DIR] [--pkg DIR]
// DIR defaults: ../data (examples/data) and ../../bindings/wasm/pkg-web.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? resolve(process.argv[i + 1]) : fallback;
};
const DATA = arg("data", join(HERE, "..", "data"));
const PKG = arg("pkg", process.env.RECSYS_WASM_PKG ?? join(HERE, "..", "..", "bindings", "wasm", "pkg-web"));
const OUT = join(HERE, "build");

const GLUE = ["recsys_wasm.js", "recsys_wasm_bg.wasm"];
for (const f of GLUE) {
  if (!existsSync(join(PKG, f))) {
    console.error(`edge-worker: ${join(PKG, f)} is missing; build the WASM binding first (bash bindings/wasm/ci.sh)`);
    process.exit(1);
  }
}

// The documents load_snapshot takes, assembled as text: the data files are embedded verbatim,
// so number literals (and the versions computed from them) are exactly what is on disk.
function snapshotText(dataDir) {
  const read = (p) => readFileSync(join(dataDir, p), "utf8");
  const manifestText = read("manifest.json");
  const manifest = JSON.parse(manifestText);
  const artifacts = Object.values(manifest.current).map((uri) => {
    const rel = uri.replace(/^s3:\/\/recsys-artifacts\//, "");
    return `${JSON.stringify(uri)}:${JSON.stringify(read(join("objectstore", rel)))}`;
  });
  return (
    `{"tenant":${JSON.stringify(manifest.tenant)},"surface":${JSON.stringify(manifest.surface)},` +
    `"config":${read("config.json")},"rules":${read("rules.json")},` +
    `"manifest":${manifestText},"artifacts":{${artifacts.join(",")}}}`
  );
}

mkdirSync(OUT, { recursive: true });
for (const f of GLUE) copyFileSync(join(PKG, f), join(OUT, f));
// The glue is an ES module; this lets Node load build/ too (the tests do).
writeFileSync(join(OUT, "package.json"), '{"type":"module"}\n');
const text = snapshotText(DATA);
writeFileSync(join(OUT, "snapshot.json"), text);
console.log(`edge-worker: build/ ready (snapshot ${text.length} bytes, wasm ${readFileSync(join(OUT, GLUE[1])).length} bytes)`);
