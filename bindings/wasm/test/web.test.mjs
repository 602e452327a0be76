// The `--target web` glue loaded in Node through initSync (the path edge runtimes use).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WASM_DIR, readCases } from "../testlib/helpers.mjs";
import { runConformance } from "../web/conformance.mjs";
import { checkEtagVectors } from "../web/etag-vectors.mjs";
import * as lib from "../pkg-web/recsys_wasm.js";

lib.initSync({ module: readFileSync(join(WASM_DIR, "pkg-web", "recsys_wasm_bg.wasm")) });

test("etag vectors (web glue)", () => {
  assert.deepEqual(checkEtagVectors(lib), []);
});

test("typed errors (web glue)", () => {
  assert.throws(() => lib.callStatic("frobnicate", "{}"), (e) => e instanceof Error && e.code === "RECSYS_UNKNOWN_OPERATION" && e.status === 400);
});

test("conformance corpus (web glue)", () => {
  const r = runConformance(lib, readCases());
  console.log(`wasm web conformance: ${r.passed} passed, ${r.failed} failed`);
  assert.deepEqual(r.failures, []);
  assert.ok(r.passed > 0);
});
