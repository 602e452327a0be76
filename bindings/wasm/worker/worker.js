// An edge worker (Cloudflare Workers / workerd module syntax) serving recsys-core through the
// `--target web` glue. Bundled modules: this file, the glue, the compiled .wasm and a snapshot
// document (snapshot.json, imported as a Text module so its JSON text reaches the core as is).
//
// Routes (all answers are the core's JSON text; errors are {"error": <error object>} with the
// error's HTTP status):
//   GET  /health          {"ok":true,"snapshot":{"loaded":bool,...}}
//   POST /etag            body = any JSON document
//   POST /call/<op>       body = the operation's JSON input (any engine operation)
//   POST /recommend       body = a recommend request; the worker adds the host context
//                         {now, request_id, tenant}: the core never reads a clock, and the
//                         tenant is the host's decision (header x-recsys-tenant, else the
//                         bundled snapshot's tenant)
import { initSync, Engine, etag } from "../pkg-web/recsys_wasm.js";
import wasmModule from "../pkg-web/recsys_wasm_bg.wasm";
import snapshotText from "./snapshot.json";

initSync({ module: wasmModule });

const engine = new Engine();

// Load the bundled snapshot once per isolate. The outcome is kept rather than thrown, so the
// worker still serves the stateless routes when loading fails.
const snapshot = (() => {
  try {
    const answer = engine.loadSnapshot(snapshotText);
    return { loaded: true, answer, tenant: JSON.parse(answer).tenant };
  } catch (e) {
    return { loaded: false, error: e.json ?? JSON.stringify({ code: "RECSYS_INTERNAL", status: 500, message: String(e) }) };
  }
})();

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function answer(text, status = 200) {
  return new Response(text, { status, headers: JSON_HEADERS });
}

function failure(e) {
  if (typeof e?.json === "string") return answer(`{"error":${e.json}}`, e.status ?? 500);
  return answer(JSON.stringify({ error: { code: "RECSYS_INTERNAL", status: 500, message: String(e) } }), 500);
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (request.method === "GET" && url.pathname === "/health") {
        const snap = snapshot.loaded ? `{"loaded":true,"answer":${snapshot.answer}}` : `{"loaded":false,"error":${snapshot.error}}`;
        return answer(`{"ok":true,"snapshot":${snap}}`);
      }
      if (request.method !== "POST") return answer('{"error":{"code":"RECSYS_METHOD_NOT_ALLOWED","status":405,"message":"use post"}}', 405);
      const body = await request.text();
      if (url.pathname === "/etag") return answer(etag(body));
      if (url.pathname.startsWith("/call/")) {
        return answer(engine.call(decodeURIComponent(url.pathname.slice("/call/".length)), body));
      }
      if (url.pathname === "/recommend") {
        if (!snapshot.loaded) return answer(`{"error":${snapshot.error}}`, 503);
        const ctx = JSON.stringify({
          now: new Date().toISOString(),
          request_id: request.headers.get("x-request-id") ?? crypto.randomUUID(),
          tenant: request.headers.get("x-recsys-tenant") ?? snapshot.tenant,
        });
        return answer(engine.recommend(body, ctx));
      }
      return answer('{"error":{"code":"RECSYS_NOT_FOUND","status":404,"message":"no such route"}}', 404);
    } catch (e) {
      return failure(e);
    }
  },
};
