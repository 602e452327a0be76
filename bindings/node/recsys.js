'use strict'
// Public entry of the Node binding. The native addon (loaded through napi's generated
// `index.js`) speaks JSON text only and throws errors whose message is the core's error
// object as JSON. This wrapper adds object conveniences and turns those errors into
// `RecsysError` subclasses chosen by the stable error code, so a code the core adds later
// still throws `RecsysError` without a rebuild.
//
// Number fidelity: the object variants go through JSON.parse/JSON.stringify, which read
// every number as a double (64-bit counts above 2^53 lose digits, `1.50` becomes `1.5`).
// Documents whose versions (ETags) depend on literals must be passed as JSON text; the
// `*Json` variants return the core's answer text untouched.

const native = require('./index.js')

class RecsysError extends Error {
  constructor(code, status, message, problems, details, errorJson) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.status = status
    this.problems = Array.isArray(problems) ? problems : []
    this.details = details || { code, status, message, ...(this.problems.length ? { problems: this.problems } : {}) }
    this.errorJson = typeof errorJson === 'string' ? errorJson : JSON.stringify(this.details)
  }
}
class ValidationError extends RecsysError {}
class JsonError extends ValidationError {}
class VersionMismatchError extends RecsysError {}
class ArtifactError extends RecsysError {}
class OverloadedError extends RecsysError {}
class ForbiddenError extends RecsysError {}
class NotFoundError extends RecsysError {}
class UnknownOperationError extends RecsysError {}
class InternalError extends RecsysError {}

const EXACT = new Map([
  ['RECSYS_VERSION_MISMATCH', VersionMismatchError],
  ['RECSYS_OVERLOADED', OverloadedError],
  ['RECSYS_FORBIDDEN', ForbiddenError],
  ['RECSYS_UNKNOWN_OPERATION', UnknownOperationError],
  ['RECSYS_INTERNAL', InternalError],
])
const PREFIX = [
  ['RECSYS_JSON_', JsonError],
  ['RECSYS_INVALID_', ValidationError],
  ['RECSYS_UNPROCESSABLE', ValidationError],
  ['RECSYS_VALIDATION_', ValidationError],
  ['RECSYS_ARTIFACT_', ArtifactError],
]

/** The error class thrown for `code` (`RecsysError` for unknown codes). */
function errorClassFor(code) {
  const exact = EXACT.get(code)
  if (exact) return exact
  for (const [prefix, cls] of PREFIX) {
    if (code.startsWith(prefix)) return cls
  }
  if (code.endsWith('_NOT_FOUND')) return NotFoundError
  return RecsysError
}

/** Builds the error for a core error object given as JSON text. */
function errorFromJson(errorJson) {
  let obj
  try {
    obj = JSON.parse(errorJson)
  } catch {
    obj = null
  }
  if (!obj || typeof obj.code !== 'string' || typeof obj.status !== 'number' || typeof obj.message !== 'string') {
    return new InternalError('RECSYS_INTERNAL', 500, `malformed error from recsys core: ${errorJson}`)
  }
  const Cls = errorClassFor(obj.code)
  return new Cls(obj.code, obj.status, obj.message, obj.problems, obj, errorJson)
}

// The native layer reports core errors as an Error whose message is the JSON error object;
// anything else (argument type errors from napi, ...) passes through unchanged.
function convert(err) {
  if (err instanceof Error && typeof err.message === 'string' && err.message.startsWith('{"code":')) {
    const e = errorFromJson(err.message)
    if (err.stack) e.stack = `${e.name}: ${e.message}\n${err.stack.split('\n').slice(1).join('\n')}`
    return e
  }
  return err
}

function guard(fn) {
  try {
    return fn()
  } catch (err) {
    throw convert(err)
  }
}

async function guardAsync(fn) {
  try {
    return await fn()
  } catch (err) {
    throw convert(err)
  }
}

function text(value) {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

// Concatenated, not re-serialised: text inputs reach the core exactly as given.
function envelope(request, ctx) {
  return '{"request":' + text(request) + ',"ctx":' + text(ctx) + '}'
}

class Engine {
  #native

  /** `options`: engine options as an object or JSON text; omitted for the defaults. */
  constructor(options) {
    this.#native = guard(() => new native.Engine(options == null ? undefined : text(options)))
  }

  /** Runs `op` with a JSON input text; returns the JSON answer text. */
  call(op, input) {
    return guard(() => this.#native.call(op, input))
  }

  /** Like `call`, off the event loop. */
  callAsync(op, input, signal) {
    return guardAsync(() => this.#native.callAsync(op, input, signal))
  }

  /** Runs `op` with an object (or JSON text); returns the answer as an object. */
  callObject(op, input) {
    return JSON.parse(this.call(op, text(input)))
  }

  async callObjectAsync(op, input, signal) {
    return JSON.parse(await this.callAsync(op, text(input), signal))
  }

  // load_snapshot: {tenant, surface, config, rules, manifest, artifacts} -> compile report
  loadSnapshotJson(documents) {
    return this.call('load_snapshot', documents)
  }
  loadSnapshot(documents) {
    return this.callObject('load_snapshot', documents)
  }
  loadSnapshotJsonAsync(documents, signal) {
    return this.callAsync('load_snapshot', documents, signal)
  }
  loadSnapshotAsync(documents, signal) {
    return this.callObjectAsync('load_snapshot', documents, signal)
  }

  // recommend / validate / similar: {request, ctx: {now, request_id, tenant}} -> response
  recommendJson(request, ctx) {
    return this.call('recommend', envelope(request, ctx))
  }
  recommend(request, ctx) {
    return JSON.parse(this.recommendJson(request, ctx))
  }
  recommendJsonAsync(request, ctx, signal) {
    return this.callAsync('recommend', envelope(request, ctx), signal)
  }
  async recommendAsync(request, ctx, signal) {
    return JSON.parse(await this.recommendJsonAsync(request, ctx, signal))
  }

  validateJson(request, ctx) {
    return this.call('validate', envelope(request, ctx))
  }
  validate(request, ctx) {
    return JSON.parse(this.validateJson(request, ctx))
  }
  validateJsonAsync(request, ctx, signal) {
    return this.callAsync('validate', envelope(request, ctx), signal)
  }
  async validateAsync(request, ctx, signal) {
    return JSON.parse(await this.validateJsonAsync(request, ctx, signal))
  }

  similarJson(request, ctx) {
    return this.call('similar', envelope(request, ctx))
  }
  similar(request, ctx) {
    return JSON.parse(this.similarJson(request, ctx))
  }
  similarJsonAsync(request, ctx, signal) {
    return this.callAsync('similar', envelope(request, ctx), signal)
  }
  async similarAsync(request, ctx, signal) {
    return JSON.parse(await this.similarJsonAsync(request, ctx, signal))
  }

  // documents, health and the artifact loader

  /** Replaces a tenant's config (JSON text; null removes it) and recompiles its surfaces. */
  setConfig(tenant, documentJson) {
    return JSON.parse(this.call('set_config', `{"tenant":${JSON.stringify(tenant)},"document":${documentJson ?? 'null'}}`))
  }
  /** Replaces a tenant's rules (JSON text; null removes them) and recompiles its surfaces. */
  setRules(tenant, documentJson) {
    return JSON.parse(this.call('set_rules', `{"tenant":${JSON.stringify(tenant)},"document":${documentJson ?? 'null'}}`))
  }
  /** `{status: "ok"}` while the engine is usable (for `/livez`). */
  liveness() {
    return this.callObject('liveness', {})
  }
  /** Per tenant/surface readiness report (for `/readyz` and `/health/detailed`). */
  readiness(now) {
    return this.callObject('readiness', { now })
  }
  /** Starts refreshing (tenant, surface) from the `manifest_template` option; returns the manifest URI. */
  loaderTrack(tenant, surface) {
    return this.callObject('loader_track', { tenant, surface }).manifest_uri
  }
  /**
   * Convenience driver: refreshes every tracked surface due at `now` with the host's
   * `read(uri)` (returns a string/Buffer/Uint8Array, null when absent, throws or rejects on
   * I/O failure; may be async). Bad or missing inputs never replace what is serving.
   */
  async refreshDue(now, read) {
    const reports = []
    for (const due of JSON.parse(this.call('loader_due', JSON.stringify({ now })))) {
      const head = JSON.stringify({ tenant: due.tenant, surface: due.surface, now }).slice(0, -1)
      let step = JSON.parse(
        await this.callAsync('loader_apply_manifest', `${head},"result":${await fetchResult(read, due.manifest_uri)}}`),
      )
      if (step.fetch) {
        const parts = []
        for (const uri of step.fetch) parts.push(`${JSON.stringify(uri)}:${await fetchResult(read, uri)}`)
        step = JSON.parse(await this.callAsync('loader_apply_artifacts', `${head},"results":{${parts.join(',')}}}`))
      }
      reports.push(step)
    }
    return reports
  }
}

/** One host read as the core's fetch-result JSON: found / not_found / error. */
async function fetchResult(read, uri) {
  let data
  try {
    data = await read(uri)
  } catch (err) {
    return JSON.stringify({ error: `${err && err.name ? err.name : 'Error'}: ${err && err.message ? err.message : err}` })
  }
  if (data == null) return '{"not_found":true}'
  if (typeof data !== 'string') {
    try {
      data = new TextDecoder('utf-8', { fatal: true }).decode(data)
    } catch {
      return '{"error":"the object is not utf-8"}'
    }
  }
  return `{"found":${JSON.stringify(data)}}`
}

/** Lower-case hex SHA-256 of the document's canonical (PostgreSQL jsonb) text. */
function etag(doc) {
  return guard(() => native.etag(doc))
}

/** The canonical (PostgreSQL jsonb) text of a document. */
function canonicalize(doc) {
  return guard(() => native.canonicalize(doc))
}

/** Runs a stateless operation with a JSON input text; returns the JSON answer text. */
function callStatic(op, input) {
  return guard(() => native.callStatic(op, input))
}

module.exports = {
  Engine,
  etag,
  canonicalize,
  callStatic,
  STATIC_OPS: Object.freeze(native.staticOps()),
  RecsysError,
  ValidationError,
  JsonError,
  VersionMismatchError,
  ArtifactError,
  OverloadedError,
  ForbiddenError,
  NotFoundError,
  UnknownOperationError,
  InternalError,
  errorClassFor,
  errorFromJson,
}
