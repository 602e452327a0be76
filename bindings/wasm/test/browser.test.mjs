// Headless Debian Chromium loads web/index.html from a Node http server on 127.0.0.1; the
// page runs the web glue (ETag vectors + the conformance cases served as /web/cases.json)
// and writes PASS or FAIL into the DOM, which --dump-dom prints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { execFile } from "node:child_process";
import { WASM_DIR, readCases } from "../testlib/helpers.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

function serve() {
  const casesJson = JSON.stringify(readCases());
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    if (path === "/web/cases.json") {
      res.writeHead(200, { "content-type": TYPES[".json"] });
      res.end(casesJson);
      return;
    }
    const file = normalize(join(WASM_DIR, path));
    const allowed = [join(WASM_DIR, "web") + sep, join(WASM_DIR, "pkg-web") + sep].some((d) => file.startsWith(d));
    if (!allowed || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function dumpDom(url) {
  const profile = mkdtempSync(join(tmpdir(), "recsys-chromium-"));
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`,
    "--virtual-time-budget=10000", "--dump-dom", url,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: 60000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const skip = existsSync(CHROMIUM) ? false : `chromium not found at ${CHROMIUM}: browser test skipped (set CHROMIUM or install the Debian package)`;
if (skip) console.log(`SKIP: ${skip}`);

test("headless chromium runs the web glue", { skip }, async () => {
  const server = await serve();
  try {
    const { port } = server.address();
    const dom = await dumpDom(`http://127.0.0.1:${port}/web/index.html`);
    const m = dom.match(/<pre id="result">([\s\S]*?)<\/pre>/);
    assert.ok(m, `no result element in:\n${dom}`);
    const result = m[1];
    console.log(`browser: ${result.split("\n").slice(0, 2).join(" | ")}`);
    assert.match(result, /^PASS /, result);
    assert.match(result, /\b\d+ passed, 0 failed\b/);
  } finally {
    server.close();
  }
});
