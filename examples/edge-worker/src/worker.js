// A recommendation service at the edge: recsys-core compiled to WebAssembly, running in a
// Cloudflare Workers / workerd isolate, serving a snapshot bundled into the worker.
//
//   POST /v1/recommend   body = a recommend request -> the core's answer (JSON)
//   GET  /healthz        {"status":"healthy","tenant","surface","config_version","rules_version"}
//
// Errors are application/problem+json {type, title, status, detail, instance, code,
// request_id}, as in the HTTP service this replaces.
//
// What the worker bundles (see build.mjs): the wasm-bindgen `--target web` glue, the
// compiled module, and snapshot.json (the example tenant's documents, imported as text so
// the JSON reaches the core exactly as written).
import { initSync, Engine } from "../build/recsys_wasm.js";
import wasmModule from "../build/recsys_wasm_bg.wasm";
import snapshotText from "../build/snapshot.json";

const MAX_BODY = 1 << 20;
const PROBLEM_BASE = "https://errors.recsys.example/problem/";
const REASONS = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 422: "Unprocessable Entity", 500: "Internal Server Error", 503: "Service Unavailable" };

// Once per isolate: instantiate the module and compile the snapshot. Loading is the costly
// part (parsing and verifying artifacts, building indexes); every request after it reads the
// compiled snapshot only.
initSync({ module: wasmModule });
const engine = new Engine();
const snapshot = (() => {
  try {
    return { ok: true, report: JSON.parse(engine.loadSnapshot(snapshotText)) };
  } catch (e) {
    return { ok: false, error: e };
  }
})();

function json(body, status = 200, headers = {}) {
  return new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

function problem(status, code, detail, instance, requestId, extra = {}, headers = {}) {
  const body = {
    type: code ? PROBLEM_BASE + code.toLowerCase().replaceAll("_", "-") : "about:blank",
    title: REASONS[status] ?? "Error",
    status,
    detail,
    instance,
    ...(code ? { code } : {}),
    request_id: requestId,
    ...extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", "x-request-id": requestId, ...headers },
  });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const requestId = request.headers.get("x-request-id")?.trim() || crypto.randomUUID();
    const fail = (status, code, detail, extra, headers) => problem(status, code, detail, url.pathname, requestId, extra, headers);

    if (url.pathname === "/healthz") {
      if (request.method !== "GET") return fail(405, null, `method ${request.method} not allowed`, {}, { allow: "GET" });
      if (!snapshot.ok) return fail(503, snapshot.error.code ?? "RECSYS_INTERNAL", snapshot.error.message);
      const { tenant, surface, config_version, rules_version } = snapshot.report;
      return json(JSON.stringify({ status: "healthy", tenant, surface, config_version, rules_version }));
    }

    if (url.pathname === "/v1/recommend") {
      if (request.method !== "POST") return fail(405, null, `method ${request.method} not allowed`, {}, { allow: "POST" });
      if (!snapshot.ok) return fail(503, snapshot.error.code ?? "RECSYS_INTERNAL", snapshot.error.message);
      // One bundled tenant: a caller naming another tenant is refused.
      const tenant = snapshot.report.tenant;
      const asked = request.headers.get("x-org-id")?.trim();
      if (asked && asked !== tenant) return fail(403, "RECSYS_TENANT_SCOPE_MISMATCH", "tenant scope mismatch");
      const body = await request.text();
      if (body.length > MAX_BODY) return fail(400, "RECSYS_INVALID_REQUEST", "request body too large");
      if (!body.trim()) return fail(400, "RECSYS_INVALID_REQUEST", "request body is required");
      // The core reads no clock: the host passes `now` (fixed by the RECSYS_FIXED_NOW binding in tests).
      const ctx = JSON.stringify({ now: env.RECSYS_FIXED_NOW ?? new Date().toISOString(), request_id: requestId, tenant });
      try {
        return json(engine.recommend(body, ctx), 200, { "x-request-id": requestId });
      } catch (e) {
        if (typeof e?.code !== "string") throw e;
        const extra = Array.isArray(e.problems) && e.problems.length ? { problems: e.problems } : {};
        return fail(e.status ?? 500, e.code, e.message, extra);
      }
    }

    return fail(404, null, "no such route");
  },
};
