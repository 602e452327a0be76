// Runs src/worker.js in workerd (through miniflare's API) listening on 127.0.0.1, with no
// outbound access (`cf: false`), and drives it over HTTP. Needs `node build.mjs` first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { initSync, Engine, etag } from "../build/recsys_wasm.js";

const HERE = join(dirname(fileURLToPath(import.meta.url)), "..");
const DATA = join(HERE, "..", "data");
const NOW = "2026-11-23T00:00:00Z";
const REQUEST = readFileSync(join(DATA, "request.json"), "utf8");

let mf;
let base;

before(async () => {
  mf = new Miniflare({
    modules: true,
    scriptPath: join(HERE, "src", "worker.js"),
    modulesRoot: HERE,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      { type: "Text", include: ["**/*.json"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { RECSYS_FIXED_NOW: NOW },
    cf: false,
    host: "127.0.0.1",
    port: 0,
  });
  base = await mf.ready;
  assert.equal(base.hostname, "127.0.0.1");
});

after(async () => {
  await mf?.dispose();
});

async function http(method, path, { headers = {}, body } = {}) {
  const res = await fetch(new URL(path, base), { method, headers, body });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, headers: res.headers, type, text, json: type.includes("json") ? JSON.parse(text) : undefined };
}

function assertProblem(r, status, code, path) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.type, "application/problem+json");
  assert.equal(r.json.status, status);
  assert.equal(r.json.code, code);
  assert.equal(r.json.type, "https://errors.recsys.example/problem/" + code.toLowerCase().replaceAll("_", "-"));
  assert.equal(r.json.instance, path);
  assert.equal(r.json.request_id, r.headers.get("x-request-id"));
}

test("GET /healthz reports the bundled snapshot's versions", async () => {
  const r = await http("GET", "/healthz");
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, "healthy");
  assert.equal(r.json.tenant, "demo");
  assert.equal(r.json.surface, "home");
  initSync({ module: readFileSync(join(HERE, "build", "recsys_wasm_bg.wasm")) });
  assert.equal(r.json.config_version, JSON.parse(etag(readFileSync(join(DATA, "config.json"), "utf8"))).etag);
  assert.equal(r.json.rules_version, JSON.parse(etag(readFileSync(join(DATA, "rules.json"), "utf8"))).etag);
});

test("POST /v1/recommend: the worker's answer equals the same WASM build run in Node", async () => {
  const r = await http("POST", "/v1/recommend", { headers: { "x-request-id": "edge-1" }, body: REQUEST });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("x-request-id"), "edge-1");
  assert.equal(r.json.items.length, 5);
  assert.equal(r.json.meta.request_id, "edge-1");
  assert.equal(r.json.meta.tenant_id, "demo");
  // The same module and snapshot in Node, same request and context: byte-identical.
  initSync({ module: readFileSync(join(HERE, "build", "recsys_wasm_bg.wasm")) });
  const local = new Engine();
  local.loadSnapshot(readFileSync(join(HERE, "build", "snapshot.json"), "utf8"));
  assert.equal(r.text, local.recommend(REQUEST, JSON.stringify({ now: NOW, request_id: "edge-1", tenant: "demo" })));
  // With the tenant named explicitly, and with a generated request id.
  const r2 = await http("POST", "/v1/recommend", { headers: { "x-org-id": "demo" }, body: REQUEST });
  assert.equal(r2.status, 200);
  assert.match(r2.headers.get("x-request-id"), /^[0-9a-f-]{36}$/);
  assert.deepEqual(r2.json.items, r.json.items);
});

test("errors are problem+json", async () => {
  const p = "/v1/recommend";
  assertProblem(await http("POST", p, { body: '{"k":3,"user":{"user_id":"u"}}' }), 400, "RECSYS_INVALID_REQUEST", p);
  assertProblem(await http("POST", p, { body: '{"surface":"home"}' }), 422, "RECSYS_UNPROCESSABLE_ENTITY", p);
  assertProblem(await http("POST", p, { body: '{"surface":' }), 400, "RECSYS_JSON_SYNTAX", p);
  assertProblem(await http("POST", p, { body: "" }), 400, "RECSYS_INVALID_REQUEST", p);
  assertProblem(await http("POST", p, { headers: { "x-org-id": "acme" }, body: REQUEST }), 403, "RECSYS_TENANT_SCOPE_MISMATCH", p);
  const big = '{"surface":"home","pad":"' + "x".repeat((1 << 20) + 10) + '"}';
  assertProblem(await http("POST", p, { body: big }), 400, "RECSYS_INVALID_REQUEST", p);
  // Validation problems travel with the problem document, with their JSON paths.
  const bad = await http("POST", p, { body: '{"surface":"home","k":0,"user":{"user_id":"u"}}' });
  assertProblem(bad, 400, "RECSYS_INVALID_REQUEST", p);
  assert.equal(bad.json.problems[0].path, "$.k");
  const wrong = await http("GET", p);
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "POST");
  const missing = await http("GET", "/nope");
  assert.equal(missing.status, 404);
  assert.equal(missing.type, "application/problem+json");
  assert.equal(missing.json.code, undefined);
});
