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
/** `RECSYS_STORE_*`: the document store failed (unavailable, conflict, corrupt, other). */
class StoreError extends RecsysError {}
/** `RECSYS_ADAPTER_*`: a host adapter was used in a way the binding cannot serve. */
class AdapterError extends RecsysError {}

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
  ['RECSYS_STORE_', StoreError],
  ['RECSYS_ADAPTER_', AdapterError],
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

class Engine {
  #native

  /**
   * `options`: engine options as an object or JSON text; omitted for the defaults.
   * `adapters`: optional host adapters `{store, metrics, exposureSink}` (plain objects, see
   * the README): the control plane's document store (default: the core's in-memory store),
   * a metrics destination (besides the built-in registry; needs the `metrics` option) and
   * where exposure events go (instead of the in-engine queue; needs the `exposure` option).
   */
  constructor(options, adapters) {
    const { names, bridge } = adapterBridge(adapters)
    this.#native = guard(
      () => new native.Engine(options == null ? undefined : text(options), bridge, names.length ? names : undefined),
    )
  }

  /** Runs `op` with a JSON input text; returns the JSON answer text. */
  call(op, input) {
    return guard(() => this.#native.call(op, input))
  }

  /**
   * Hands over one artifact of the pending manifest as bytes (`Buffer`/`Uint8Array`, read in
   * place, no string copy); returns `{uri, kind, version, rows}`. Loader step 2, one
   * artifact at a time: `loader_apply_artifacts` then needs no bytes for it.
   */
  loaderStageArtifact(tenant, surface, uri, data) {
    return JSON.parse(guard(() => this.#native.loaderStageArtifact(tenant, surface, uri, data)))
  }

  /** Like `loaderStageArtifact`, off the event loop (the bytes are copied once, natively). */
  async loaderStageArtifactAsync(tenant, surface, uri, data) {
    return JSON.parse(await guardAsync(() => this.#native.loaderStageArtifactAsync(tenant, surface, uri, data)))
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

  // recommend / validate / similar: {request, ctx: {now, request_id, tenant}} -> response.
  // The core builds the {"request","ctx"} input from the two JSON texts (text inputs reach
  // it exactly as given; each must be one JSON value).
  #serve(op, request, ctx) {
    return guard(() => this.#native.serve(op, text(request) ?? '', text(ctx) ?? ''))
  }
  #serveAsync(op, request, ctx, signal) {
    return guardAsync(() => this.#native.serveAsync(op, text(request) ?? '', text(ctx) ?? '', signal))
  }
  recommendJson(request, ctx) {
    return this.#serve('recommend', request, ctx)
  }
  recommend(request, ctx) {
    return JSON.parse(this.recommendJson(request, ctx))
  }
  recommendJsonAsync(request, ctx, signal) {
    return this.#serveAsync('recommend', request, ctx, signal)
  }
  async recommendAsync(request, ctx, signal) {
    return JSON.parse(await this.recommendJsonAsync(request, ctx, signal))
  }

  validateJson(request, ctx) {
    return this.#serve('validate', request, ctx)
  }
  validate(request, ctx) {
    return JSON.parse(this.validateJson(request, ctx))
  }
  validateJsonAsync(request, ctx, signal) {
    return this.#serveAsync('validate', request, ctx, signal)
  }
  async validateAsync(request, ctx, signal) {
    return JSON.parse(await this.validateJsonAsync(request, ctx, signal))
  }

  similarJson(request, ctx) {
    return this.#serve('similar', request, ctx)
  }
  similar(request, ctx) {
    return JSON.parse(this.similarJson(request, ctx))
  }
  similarJsonAsync(request, ctx, signal) {
    return this.#serveAsync('similar', request, ctx, signal)
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
        for (const uri of step.fetch) {
          const data = await readObject(read, uri)
          if (data instanceof Uint8Array) {
            // Bytes are handed over one artifact at a time, never as a JSON string; a
            // verification failure is recorded when the artifacts are applied.
            try {
              await this.loaderStageArtifactAsync(due.tenant, due.surface, uri, data)
            } catch (err) {
              if (!(err instanceof RecsysError)) throw err
            }
          } else {
            parts.push(`${JSON.stringify(uri)}:${data}`)
          }
        }
        step = JSON.parse(await this.callAsync('loader_apply_artifacts', `${head},"results":{${parts.join(',')}}}`))
      }
      reports.push(step)
    }
    return reports
  }

  // control plane (admin): versioned config/rules with If-Match, rollback, hash-chained
  // audit, invalidation, artifact pins. `ctx` is {now, requestId?, principal: {subject,
  // tenant, roles, type?}}; a principal acts on its own tenant only. Answers are the core's
  // JSON objects (snake_case members, the same bodies as the HTTP service). With a JS
  // document store these must be called synchronously (they are).

  #admin(op, request, ctx) {
    return this.callObject(op, { request, ctx: adminCtx(ctx) })
  }
  /** The current config: {tenant_id, config_version, config}; NotFoundError when none. */
  getConfig(tenant, ctx) {
    return this.#admin('admin.get_config', { tenant }, ctx)
  }
  /** Stores a config version and makes it current; `ifMatch` as an HTTP If-Match value. */
  putConfig(tenant, document, ctx, opts = {}) {
    return this.#admin('admin.put_config', putInput(tenant, document, opts), ctx)
  }
  getRules(tenant, ctx) {
    return this.#admin('admin.get_rules', { tenant }, ctx)
  }
  putRules(tenant, document, ctx, opts = {}) {
    return this.#admin('admin.put_rules', putInput(tenant, document, opts), ctx)
  }
  /** Every stored version of `kind` ('config' | 'rules'), oldest first. */
  listVersions(tenant, kind, ctx) {
    return this.#admin('admin.list_versions', { tenant, kind }, ctx)
  }
  /** Makes an earlier version current: `opts.to` (an ETag) or the previous version. */
  rollback(tenant, kind, ctx, opts = {}) {
    return this.#admin(
      'admin.rollback',
      compact({ tenant, kind, to: opts.to, if_match: opts.ifMatch, comment: opts.comment }),
      ctx,
    )
  }
  /** One page of the audit log, newest first: {entries, next_cursor?, next_before?, next_before_id?}. */
  audit(tenant, ctx, opts = {}) {
    const page = compact({ tenant, limit: opts.limit, cursor: opts.cursor, before: opts.before, before_id: opts.beforeId })
    return this.#admin('admin.audit', page, ctx)
  }
  /** Verifies the tenant's audit hash chain: {tenant_id, ok, entries, head_hash, ...}. */
  verifyAudit(tenant, ctx, opts = {}) {
    return this.#admin('admin.verify_audit', compact({ tenant, head: opts.head }), ctx)
  }
  /** Invalidates caches (`config`, `rules`, `popularity`/`artifacts` targets). */
  invalidate(tenant, targets, ctx, opts = {}) {
    return this.#admin('admin.invalidate', compact({ tenant, targets, surface: opts.surface }), ctx)
  }
  /**
   * Pins a surface to a manifest (`opts.manifest`, object or JSON text) or to `opts.current`.
   * While a release is current, `opts.ifMatch` must be its `release_id`.
   */
  pinArtifacts(tenant, surface, ctx, opts = {}) {
    return this.#admin(
      'admin.pin_artifacts',
      compact({ tenant, surface, manifest: opts.manifest, current: opts.current, if_match: opts.ifMatch }),
      ctx,
    )
  }
  /** Releases a pin; conditional on the current release like `pinArtifacts` (`opts.ifMatch`). */
  unpinArtifacts(tenant, surface, ctx, opts = {}) {
    return this.#admin('admin.unpin_artifacts', compact({ tenant, surface, if_match: opts.ifMatch }), ctx)
  }
  /** Applies empty publishes held back by `hold_empty_publishes`. */
  releaseHeld(tenant, surface, ctx) {
    return this.#admin('admin.release_held', { tenant, surface }, ctx)
  }
  /**
   * Reconciles this engine with its store (`admin.sync`): installs pointers whose revision
   * is newer than what serves and applies pins, releases and invalidations from the change
   * feed. `opts.tenant`, `opts.kinds` (config, rules, artifacts, cache), `opts.revision` (the
   * one a notification carried). Idempotent; never moves serving backwards.
   */
  sync(now, opts = {}) {
    return JSON.parse(
      this.call('admin.sync', JSON.stringify({ request: compact({ tenant: opts.tenant, kinds: opts.kinds, revision: opts.revision }), ctx: { now } })),
    )
  }
  /** Per tenant: revision reconciled, store revision, behind, last sync, lag, served versions. */
  syncStatus(now) {
    return JSON.parse(this.call('sync_status', JSON.stringify({ now })))
  }

  // artifact loading off the event loop: the two steps `refreshDue` drives, for hosts that
  // drive the loader themselves. `result(s)` are fetch results {found} / {not_found} / {error}.
  applyManifestAsync(tenant, surface, now, result, signal) {
    return this.callObjectAsync('loader_apply_manifest', { tenant, surface, now, result }, signal)
  }
  applyArtifactsAsync(tenant, surface, now, results, signal) {
    return this.callObjectAsync('loader_apply_artifacts', { tenant, surface, now, results }, signal)
  }
}

function compact(obj) {
  const out = {}
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) out[k] = v
  return out
}

function adminCtx(ctx) {
  if (!ctx || typeof ctx !== 'object') {
    throw new ValidationError('RECSYS_INVALID_REQUEST', 400, 'ctx must be an object {now, requestId?, principal}')
  }
  return compact({ now: ctx.now, request_id: ctx.requestId ?? ctx.request_id, principal: ctx.principal })
}

// Documents given as text reach the core verbatim (literals, and so ETags, stay exact).
function putInput(tenant, document, opts) {
  return compact({
    tenant,
    document: document === undefined ? undefined : text(document),
    if_match: opts.ifMatch,
    comment: opts.comment,
  })
}

// --- host adapters -------------------------------------------------------------------------

const STORE_METHODS = [
  'current',
  'getVersion',
  'putVersion',
  'listVersions',
  'compareAndSwap',
  'appendAudit',
  'listAudit',
  'auditChain',
  'revision',
  'changesSince',
]

/**
 * The audit actions that change what a tenant's processes serve (the change feed): pointer
 * moves, releases (release.publish / release.rollback), artifact pins, unpins and
 * releases of held publishes, cache invalidations.
 */
const CHANGE_ACTIONS = Object.freeze([
  'config.update',
  'rules.update',
  'config.rollback',
  'rules.rollback',
  'cache.invalidate',
  'artifacts.pin',
  'artifacts.unpin',
  'artifacts.release',
  'release.publish',
  'release.rollback',
])
const METRICS_METHODS = ['counter', 'histogram', 'gauge']
const STORE_KINDS = new Set(['unavailable', 'conflict', 'corrupt', 'other'])

/** What a document store throws to report a failure of a given kind. */
class DocumentStoreError extends Error {
  constructor(kind, message) {
    super(message)
    this.name = 'DocumentStoreError'
    this.kind = STORE_KINDS.has(kind) ? kind : 'other'
  }
}

/**
 * An audit entry before the store has assigned its id: the store calls
 * `seal(id, prevHash)` inside the same atomic step in which it assigns the id and reads the
 * tenant's last hash; the core computes the chained hash and returns the entry to keep.
 */
class AuditDraft {
  #draft
  constructor(value) {
    this.#draft = value.draft
    this.tenant = value.tenant
    this.occurredAt = value.occurredAt
    this.timeKey = value.timeKey
    this.action = value.action
    Object.freeze(this)
  }
  seal(id, prevHash) {
    return JSON.parse(guard(() => native.sealAuditDraft(this.#draft, id, prevHash ?? null)))
  }
}

function checkAdapter(name, obj, methods) {
  if (obj == null) return false
  if (typeof obj !== 'object' && typeof obj !== 'function') {
    throw new ValidationError('RECSYS_INVALID_ADAPTER', 400, `adapter ${name} must be an object`)
  }
  for (const m of methods) {
    if (typeof obj[m] !== 'function') {
      throw new ValidationError('RECSYS_INVALID_ADAPTER', 400, `adapter ${name} has no method ${m}()`)
    }
  }
  return true
}

function describe(err) {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message
  return String(err)
}

// The one function the native engine calls for every adapter method:
// (adapter, method, argsJson) -> '{"ok": value}' | '{"error": {kind, message}}'. Never throws.
function adapterBridge(adapters) {
  const a = adapters ?? {}
  if (typeof a !== 'object') throw new ValidationError('RECSYS_INVALID_ADAPTER', 400, 'adapters must be an object')
  for (const k of Object.keys(a)) {
    if (!['store', 'metrics', 'exposureSink'].includes(k)) {
      throw new ValidationError('RECSYS_INVALID_ADAPTER', 400, `unknown adapter ${k}: expected store, metrics or exposureSink`)
    }
  }
  const targets = {}
  if (checkAdapter('store', a.store, STORE_METHODS)) targets.store = a.store
  if (checkAdapter('metrics', a.metrics, METRICS_METHODS)) targets.metrics = a.metrics
  if (checkAdapter('exposureSink', a.exposureSink, ['emit'])) targets.exposure = a.exposureSink
  const names = Object.keys(targets)
  if (!names.length) return { names, bridge: undefined }
  const bridge = (adapter, method, argsJson) => {
    try {
      const target = targets[adapter]
      const args = JSON.parse(argsJson)
      if (adapter === 'store') {
        if (method === 'compareAndSwap' || method === 'compareAndSwapAll') args[2] = new AuditDraft(args[2])
        if (method === 'appendAudit') args[1] = new AuditDraft(args[1])
      }
      const result = target[method](...args)
      if (result && typeof result.then === 'function') {
        if (adapter === 'store') {
          result.then(undefined, () => {})
          throw new DocumentStoreError('other', `store.${method}() returned a promise; document stores are synchronous`)
        }
        // Metrics and exposure sinks may be async; nothing waits for them.
        result.then(undefined, () => {})
        return '{"ok":null}'
      }
      return JSON.stringify({ ok: result === undefined ? null : result })
    } catch (err) {
      const kind = err && STORE_KINDS.has(err.kind) ? err.kind : 'other'
      return JSON.stringify({ error: { kind, message: `${adapter}.${method}: ${describe(err)}` } })
    }
  }
  return { names, bridge }
}

/**
 * The reference document store in JS, with the semantics of the core's `MemoryStore`:
 * immutable content-addressed versions, one pointer per (tenant, kind) moved by
 * compare-and-swap together with its audit entry, an append-only audit log with
 * store-wide increasing ids, each entry sealed (hash-chained) by the core. Replace the maps
 * with a database to make it durable; every method must be one atomic step.
 */
class MemoryStore {
  #lastAuditId = 0
  #tenants = new Map()

  #tenant(tenant, create) {
    let t = this.#tenants.get(tenant)
    if (!t && create) {
      t = {
        config: { versions: [], byEtag: new Map(), pointer: null },
        rules: { versions: [], byEtag: new Map(), pointer: null },
        audit: [],
        changes: [], // the change-feed entries, id order
      }
      this.#tenants.set(tenant, t)
    }
    return t
  }

  #append(t, draft) {
    const last = t.audit.length ? t.audit[t.audit.length - 1].hash : null
    const entry = draft.seal(++this.#lastAuditId, last)
    t.audit.push(entry)
    if (CHANGE_ACTIONS.includes(entry.action)) t.changes.push(entry)
    return entry
  }

  current(tenant, kind) {
    return this.#tenant(tenant)?.[kind].pointer ?? null
  }
  getVersion(tenant, kind, etag) {
    const k = this.#tenant(tenant)?.[kind]
    return k?.byEtag.has(etag) ? k.versions[k.byEtag.get(etag)] : null
  }
  putVersion(tenant, kind, version) {
    const k = this.#tenant(tenant, true)[kind]
    if (k.byEtag.has(version.etag)) return false
    k.byEtag.set(version.etag, k.versions.length)
    k.versions.push(version)
    return true
  }
  listVersions(tenant, kind) {
    return [...(this.#tenant(tenant)?.[kind].versions ?? [])]
  }
  compareAndSwap(tenant, swap, draft) {
    if (draft.tenant !== tenant) {
      throw new DocumentStoreError('other', `audit entry for tenant ${JSON.stringify(draft.tenant)} appended to tenant ${JSON.stringify(tenant)}`)
    }
    const t = this.#tenant(tenant)
    if (!t) return null
    const k = t[swap.kind]
    if ((k.pointer ? k.pointer.etag : null) !== swap.expected || !k.byEtag.has(swap.newEtag)) return null
    const entry = this.#append(t, draft)
    k.pointer = { etag: swap.newEtag, previous: swap.expected, updatedAt: swap.at, updatedBy: swap.by, revision: entry.id }
    return entry
  }
  appendAudit(tenant, draft) {
    if (draft.tenant !== tenant) {
      throw new DocumentStoreError('other', `audit entry for tenant ${JSON.stringify(draft.tenant)} appended to tenant ${JSON.stringify(tenant)}`)
    }
    return this.#append(this.#tenant(tenant, true), draft)
  }
  listAudit(tenant, before, limit) {
    const below = (e) => !before || e.timeKey < before.timeKey || (e.timeKey === before.timeKey && e.id < before.id)
    return (this.#tenant(tenant)?.audit ?? [])
      .filter(below)
      .sort((x, y) => (x.timeKey === y.timeKey ? y.id - x.id : x.timeKey < y.timeKey ? 1 : -1))
      .slice(0, limit)
  }
  auditChain(tenant, afterId, limit) {
    return (this.#tenant(tenant)?.audit ?? []).filter((e) => afterId == null || e.id > afterId).slice(0, limit)
  }
  /** The tenant's revision: the id of its last change, 0 when none. */
  revision(tenant) {
    const c = this.#tenant(tenant)?.changes ?? []
    return c.length ? c[c.length - 1].id : 0
  }
  /** Up to `limit` changes with id > `since`, by id ascending (binary search on id). */
  changesSince(tenant, since, limit) {
    const c = this.#tenant(tenant)?.changes ?? []
    let lo = 0
    let hi = c.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (c[mid].id <= since) lo = mid + 1
      else hi = mid
    }
    return c.slice(lo, lo + limit)
  }
}

/** One host read: the object's bytes, or its fetch-result JSON when it is text or absent. */
async function readObject(read, uri) {
  let data
  try {
    data = await read(uri)
  } catch (err) {
    return JSON.stringify({ error: `${err && err.name ? err.name : 'Error'}: ${err && err.message ? err.message : err}` })
  }
  if (data == null) return '{"not_found":true}'
  if (typeof data === 'string') return `{"found":${JSON.stringify(data)}}`
  return data instanceof Uint8Array ? data : new Uint8Array(data)
}

/** One host read as the core's fetch-result JSON: found / not_found / error. */
async function fetchResult(read, uri) {
  const data = await readObject(read, uri)
  if (!(data instanceof Uint8Array)) return data
  try {
    return `{"found":${JSON.stringify(new TextDecoder('utf-8', { fatal: true }).decode(data))}}`
  } catch {
    return '{"error":"the object is not utf-8"}'
  }
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
  StoreError,
  AdapterError,
  DocumentStoreError,
  AuditDraft,
  MemoryStore,
  CHANGE_ACTIONS,
  errorClassFor,
  errorFromJson,
}
