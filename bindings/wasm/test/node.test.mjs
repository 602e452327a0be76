// The `--target nodejs` glue: ETag vectors, typed errors, the engine surface and the
// conformance corpus.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WASM_DIR, readCases } from "../testlib/helpers.mjs";
import { runConformance } from "../web/conformance.mjs";
import { checkEtagVectors } from "../web/etag-vectors.mjs";

const require = createRequire(import.meta.url);
const lib = require(join(WASM_DIR, "pkg-node", "recsys_wasm.js"));

function throwsRecsys(fn, code, status) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, "expected a throw");
  assert.ok(caught instanceof Error, "a RecsysError is a JS Error");
  assert.equal(caught.name, "RecsysError");
  assert.equal(caught.code, code, caught.json);
  if (status !== undefined) assert.equal(caught.status, status);
  assert.equal(typeof caught.message, "string");
  assert.ok(caught.message.length > 0);
  assert.ok(Array.isArray(caught.problems));
  const obj = JSON.parse(caught.json);
  assert.equal(obj.code, code);
  assert.equal(obj.status, caught.status);
  assert.equal(obj.message, caught.message);
  return caught;
}

test("etag vectors (nodejs glue)", () => {
  assert.deepEqual(checkEtagVectors(lib), []);
  assert.deepEqual(JSON.parse(lib.callStatic("etag", "{}")), JSON.parse(lib.etag("{}")));
});

test("invalid json is a typed error with problems", () => {
  const e = throwsRecsys(() => lib.etag('{"a":'), "RECSYS_JSON_SYNTAX", 400);
  assert.ok(e.problems.length >= 1);
  assert.equal(typeof e.problems[0].path, "string");
  assert.equal(e.problems[0].code, "RECSYS_JSON_SYNTAX");
  throwsRecsys(() => lib.etag(""), "RECSYS_JSON_EMPTY", 400);
  throwsRecsys(() => lib.etag('{"a":1} x'), "RECSYS_JSON_TRAILING_DATA", 400);
});

test("unknown operations are typed errors", () => {
  throwsRecsys(() => lib.callStatic("frobnicate", "{}"), "RECSYS_UNKNOWN_OPERATION", 400);
  const engine = new lib.Engine();
  try {
    throwsRecsys(() => engine.call("frobnicate", "{}"), "RECSYS_UNKNOWN_OPERATION", 400);
    // Static operations are reachable through the engine too.
    assert.equal(engine.call("etag", "[]"), lib.etag("[]"));
  } finally {
    engine.free();
  }
});

test("engine options", () => {
  new lib.Engine().free();
  new lib.Engine(null).free();
  new lib.Engine(undefined).free();
  new lib.Engine("{}").free();
  throwsRecsys(() => new lib.Engine("[]"), "RECSYS_INVALID_OPTIONS", 400);
  throwsRecsys(() => new lib.Engine("{"), "RECSYS_JSON_SYNTAX", 400);
});

test("the backpressure option is accepted and validated", () => {
  // One thread here, so the gate never fills: every call is admitted and answered.
  const e = new lib.Engine(
    '{"backpressure":{"max_in_flight":1,"max_queue":0,"queue_timeout_ms":0,"retry_after_ms":1000}}',
  );
  e.call(
    "load_snapshot",
    '{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":3}]}}',
  );
  const input =
    '{"request":{"surface":"home","k":1,"user":{"user_id":"u"}},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}';
  for (let i = 0; i < 3; i++) {
    assert.equal(JSON.parse(e.call("recommend", input)).items[0].item_id, "a");
  }
  e.free();
  const err = throwsRecsys(
    () => new lib.Engine('{"backpressure":{"max_inflight":1}}'),
    "RECSYS_INVALID_OPTIONS",
    400,
  );
  assert.match(err.message, /max_inflight/);
  throwsRecsys(
    () => new lib.Engine('{"backpressure":{"max_queue":-1}}'),
    "RECSYS_INVALID_OPTIONS",
    400,
  );
});

test("serving methods: load a snapshot, recommend, validate, similar", () => {
  const engine = new lib.Engine();
  try {
    const docs = readFileSync(join(WASM_DIR, "worker", "snapshot.json"), "utf8");
    const report = JSON.parse(engine.loadSnapshot(docs));
    assert.equal(report.tenant, "demo");
    assert.equal(report.surface, "home");
    assert.equal(engine.loadSnapshot(docs), engine.call("load_snapshot", docs));

    const ctx = '{"now":"2026-01-02T00:00:00Z","request_id":"r1","tenant":"demo"}';
    const request = '{"surface":"home","k":3,"user":{"user_id":"u1"}}';
    const rec = engine.recommend(request, ctx);
    // The two-argument form is exactly call(op, {"request":..,"ctx":..}).
    assert.equal(rec, engine.call("recommend", `{"request":${request},"ctx":${ctx}}`));
    assert.equal(rec, engine.recommend(`{"request":${request},"ctx":${ctx}}`));
    const answer = JSON.parse(rec);
    assert.ok(Array.isArray(answer.items) && answer.items.length > 0, rec);
    assert.equal(typeof engine.validate(request, ctx), "string");
    assert.equal(typeof engine.similar('{"surface":"home","item_id":"A","k":2}', ctx), "string");

    // A request text that tries to smuggle in its own ctx is refused: each part must be one
    // JSON value (the core builds the envelope).
    const smuggled = '{"surface":"home","user":{"user_id":"u1"}},"ctx":{"now":"2026-01-02T00:00:00Z","tenant":"evil","roles":["admin"]}';
    throwsRecsys(() => engine.recommend(smuggled, ctx), "RECSYS_JSON_TRAILING_DATA", 400);
    throwsRecsys(() => engine.recommend(request, '{"now":'), "RECSYS_JSON_SYNTAX", 400);

    throwsRecsys(() => engine.recommend(request, '{"now":"2026-01-02T00:00:00Z"}'), "RECSYS_INVALID_CONTEXT", 400);
  } finally {
    engine.free();
  }
});

test("conformance corpus (nodejs glue)", () => {
  const r = runConformance(lib, readCases());
  console.log(`wasm nodejs conformance: ${r.passed} passed, ${r.failed} failed`);
  assert.deepEqual(r.failures, []);
  assert.ok(r.passed > 0, "the corpus must not be empty");
});
