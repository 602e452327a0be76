// A real edge-worker runtime: miniflare runs worker/worker.js in workerd, listening on
// 127.0.0.1 only, with `cf: false` so nothing is fetched from outside.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { WASM_DIR } from "../testlib/helpers.mjs";
import { ETAG_VECTORS } from "../web/etag-vectors.mjs";

let mf;

before(async () => {
  mf = new Miniflare({
    modules: true,
    scriptPath: join(WASM_DIR, "worker", "worker.js"),
    modulesRoot: WASM_DIR,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      { type: "Text", include: ["**/*.json"] },
    ],
    compatibilityDate: "2026-04-01",
    cf: false,
    host: "127.0.0.1",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

async function post(path, body) {
  const res = await mf.dispatchFetch(`http://127.0.0.1${path}`, { method: "POST", body });
  return { status: res.status, text: await res.text() };
}

test("worker answers etag vectors", async () => {
  for (const v of ETAG_VECTORS) {
    const r = await post("/etag", v.input);
    assert.equal(r.status, 200, r.text);
    const a = JSON.parse(r.text);
    assert.equal(a.canonical, v.canonical);
    if (v.etag !== null) assert.equal(a.etag, v.etag);
  }
});

test("worker forwards engine calls and typed errors", async () => {
  const ok = await post("/call/etag", '{"weights":{"pop":0.7,"cooc":0.3}}');
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.text).etag, ETAG_VECTORS[0].etag);
  const bad = await post("/call/frobnicate", "{}");
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.text).error.code, "RECSYS_UNKNOWN_OPERATION");
  const badJson = await post("/etag", "{");
  assert.equal(badJson.status, 400);
  assert.equal(JSON.parse(badJson.text).error.code, "RECSYS_JSON_SYNTAX");
});

test("worker recommends from its bundled snapshot", async (t) => {
  const health = JSON.parse(await (await mf.dispatchFetch("http://127.0.0.1/health")).text());
  assert.equal(health.ok, true);
  if (!health.snapshot.loaded && health.snapshot.error.code === "RECSYS_UNKNOWN_OPERATION") {
    t.skip("recsys-core has no load_snapshot operation yet (RECSYS_UNKNOWN_OPERATION)");
    return;
  }
  assert.equal(health.snapshot.loaded, true, JSON.stringify(health.snapshot));
  const r = await post("/recommend", '{"surface":"home","k":3,"user":{"user_id":"u1"}}');
  if (r.status !== 200 && JSON.parse(r.text).error?.code === "RECSYS_UNKNOWN_OPERATION") {
    t.skip("recsys-core has no recommend operation yet (RECSYS_UNKNOWN_OPERATION)");
    return;
  }
  assert.equal(r.status, 200, r.text);
  const a = JSON.parse(r.text);
  assert.ok(Array.isArray(a.items), r.text);
  assert.ok(a.items.length > 0, r.text);
});
