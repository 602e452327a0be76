'use strict'
// A small recommendation service on the recsys-core Node binding, with node:http only.
//
//   POST /v1/recommend                             a recommendation (the core's answer)
//   GET  /v1/admin/tenants/{tenant_id}/config      the current config, ETag header
//   PUT  /v1/admin/tenants/{tenant_id}/config      a new config; If-Match for optimistic locking
//   GET  /healthz                                  {"status":"healthy", ...}
//   GET  /readyz, /health/detailed                 readiness with reasons, change feed, served versions
//
// With a PostgreSQL DSN (--dsn or RECSYS_PG_DSN) the control plane lives in PostgreSQL and
// every process converges through LISTEN/NOTIFY (fleet.js); cluster.js runs one process per
// core with node:cluster.
//   GET  /metrics                                  Prometheus text
//   GET  /v1/license                               the license (no authentication)
//
// Errors are application/problem+json: {type, title, status, detail, instance, code,
// request_id}, as in the HTTP service this replaces.
//
// The caller's identity (./auth.js): JWT bearer tokens and/or API keys when configured
// (`auth: {jwt, apiKeys}`, or the environment, see ./env.js); without either, development
// headers: X-Org-Id = the caller's tenant, X-Dev-User-Id = its subject, X-Dev-Roles = comma
// separated roles (viewer reads, operator/admin write), with a warning at startup. The core
// itself refuses any admin call on a tenant other than the caller's. One JSON log line per
// request (request id, status, tenant; never user ids).

const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
const recsys = require('../../bindings/node/recsys.js')
const { createAuth, AuthProblem } = require('./auth.js')
const LICENSE = require('./license.json')
const { PgStore, migrate } = require('./pg/store.js')
const { FleetSync, fleetMetrics } = require('./fleet.js')
const envOptions = require('./env.js').optionsFromEnv

const DEFAULT_DATA = path.join(__dirname, '..', 'data')
const MAX_BODY = 1 << 20 // 1 MiB, like the reference service
const PROBLEM_BASE = 'https://errors.recsys.example/problem/'
const ADMIN_CONFIG = /^\/v1\/admin\/tenants\/([^/]+)\/config$/

/**
 * Reads a data directory laid out like examples/data (config.json, rules.json,
 * manifest.json, objectstore/<path of each s3://recsys-artifacts/ URI>) into the
 * documents `load_snapshot` takes, as JSON text: documents are never re-serialised, so
 * number literals, and with them the versions (ETags), stay exactly as written.
 */
function readDocuments(dataDir) {
  const read = (p) => fs.readFileSync(path.join(dataDir, p), 'utf8')
  const manifestText = read('manifest.json')
  const manifest = JSON.parse(manifestText)
  const artifacts = Object.values(manifest.current).map((uri) => {
    const rel = uri.replace(/^s3:\/\/recsys-artifacts\//, '')
    return `${JSON.stringify(uri)}:${JSON.stringify(read(path.join('objectstore', rel)))}`
  })
  return {
    tenant: manifest.tenant,
    surface: manifest.surface,
    config: read('config.json'),
    rules: read('rules.json'),
    text:
      `{"tenant":${JSON.stringify(manifest.tenant)},"surface":${JSON.stringify(manifest.surface)},` +
      `"config":${read('config.json')},"rules":${read('rules.json')},` +
      `"manifest":${manifestText},"artifacts":{${artifacts.join(',')}}}`,
  }
}

/**
 * Builds the engine: the example tenant's config and rules go through the control plane
 * (so they are versioned and audited like any admin write), then its artifacts are loaded.
 */
function createEngine({ dataDir = DEFAULT_DATA, now, engineOptions = { metrics: true }, adapters } = {}) {
  const engine = new recsys.Engine(engineOptions, adapters)
  const docs = readDocuments(dataDir)
  const system = { now, requestId: 'startup', principal: { subject: 'system', tenant: docs.tenant, roles: ['admin'], type: 'system' } }
  const store = adapters && adapters.store
  // With a shared store (PostgreSQL), documents are seeded only when the tenant has none,
  // and the snapshot is loaded with the store's current versions.
  let text = docs.text
  if (store) {
    for (const kind of ['config', 'rules']) {
      if (store.current(docs.tenant, kind) === null) {
        const put = kind === 'config' ? engine.putConfig.bind(engine) : engine.putRules.bind(engine)
        put(docs.tenant, docs[kind], system, { comment: 'seeded from the data directory' })
      }
    }
    const current = (kind) => store.getVersion(docs.tenant, kind, store.current(docs.tenant, kind).etag).document
    text = text.replace(`"config":${docs.config},"rules":${docs.rules},`, `"config":${current('config')},"rules":${current('rules')},`)
  } else {
    engine.putConfig(docs.tenant, docs.config, system, { comment: 'loaded at startup' })
    engine.putRules(docs.tenant, docs.rules, system, { comment: 'loaded at startup' })
  }
  const report = engine.loadSnapshotJson(text)
  return { engine, tenant: docs.tenant, surface: docs.surface, report: JSON.parse(report) }
}

class HttpProblem extends Error {
  constructor(status, code, detail) {
    super(detail)
    this.status = status
    this.code = code
  }
}

function problemBody(status, code, detail, instance, requestId, extra) {
  const body = {
    type: code ? PROBLEM_BASE + code.toLowerCase().replace(/_/g, '-') : 'about:blank',
    title: http.STATUS_CODES[status] || 'Error',
    status,
    detail,
    instance,
  }
  if (code) body.code = code
  if (requestId) body.request_id = requestId
  return JSON.stringify({ ...body, ...extra })
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    // Past the limit the rest is read and dropped, so the client still gets the answer.
    req.on('data', (c) => {
      size += c.length
      if (size <= MAX_BODY) chunks.push(c)
    })
    req.on('end', () => {
      if (size > MAX_BODY) reject(new HttpProblem(400, 'RECSYS_INVALID_REQUEST', 'http: request body too large'))
      else resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', reject)
  })
}

/** One JSON object per line on stderr (the default `log` option). */
function jsonLine(fields) {
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), ...fields }) + '\n')
}

/**
 * The request handler. `options.clock()` gives `now` as RFC 3339 (the core reads no clock;
 * tests pass a fixed one); `options.requestIds()` makes ids for requests without
 * X-Request-Id.
 */
function createHandler(state, options = {}) {
  const { engine } = state
  const clock = options.clock || (() => new Date().toISOString())
  let counter = 0
  const newId = options.requestIds || (() => `node-service-${String(++counter).padStart(6, '0')}`)
  const auth = state.auth || createAuth(options.auth)
  const log = options.log || jsonLine

  return async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost')
    const requestId = (req.headers['x-request-id'] || '').trim() || newId()
    const started = process.hrtime.bigint()
    let caller = null
    const principalOf = async (r) => (caller = await auth.principal(r))
    res.setHeader('X-Request-Id', requestId)
    const send = (status, body, type = 'application/json; charset=utf-8', headers = {}) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers })
      res.end(body)
      log({
        level: 'info',
        msg: 'request',
        request_id: requestId,
        method: req.method,
        path: url.pathname,
        status,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...(caller ? { tenant: caller.tenant, auth: caller.type } : {}),
      })
    }
    const fail = (status, code, detail, extra, headers) =>
      send(status, problemBody(status, code, detail, url.pathname, requestId, extra), 'application/problem+json', headers)
    const methods = (allowed) => {
      if (allowed.includes(req.method)) return true
      fail(405, null, `method ${req.method} not allowed`, undefined, { Allow: allowed.join(', ') })
      return false
    }
    try {
      if (url.pathname === '/readyz' || url.pathname === '/health/detailed') {
        if (!methods(['GET'])) return
        const body = standing(state, clock, options.feedDownSeconds ?? 30)
        const status = url.pathname === '/readyz' && body.status !== 'ready' ? 503 : 200
        return send(status, JSON.stringify(body))
      }
      if (url.pathname === '/healthz') {
        if (!methods(['GET'])) return
        const live = engine.liveness()
        const loaded = engine.callObject('snapshots', {})
        return send(200, JSON.stringify({ status: live.status === 'ok' ? 'healthy' : 'unhealthy', snapshots: loaded }))
      }
      if (url.pathname === '/v1/license') {
        if (!methods(['GET'])) return
        return send(200, JSON.stringify(LICENSE), undefined, { 'Cache-Control': 'no-store' })
      }
      if (url.pathname === '/metrics') {
        if (!methods(['GET'])) return
        let text = engine.callObject('metrics', {}).prometheus
        if (state.fleet) {
          if (text && !text.endsWith('\n')) text += '\n'
          text += fleetMetrics(state.fleet, engine.syncStatus(clock()).tenants)
        }
        return send(200, text, 'text/plain; version=0.0.4; charset=utf-8')
      }
      if (url.pathname === '/v1/recommend') {
        if (!methods(['POST'])) return
        const { tenant, roles } = await principalOf(req)
        const body = await readBody(req)
        if (!body.trim()) throw new HttpProblem(400, 'RECSYS_INVALID_REQUEST', 'request body is required')
        const ctx = JSON.stringify({ now: clock(), request_id: requestId, tenant, roles })
        // Off the event loop: the core runs on libuv's thread pool.
        return send(200, await engine.recommendJsonAsync(body, ctx))
      }
      const admin = ADMIN_CONFIG.exec(url.pathname)
      if (admin) {
        if (!methods(['GET', 'PUT'])) return
        const tenant = decodeURIComponent(admin[1])
        const ctx = { now: clock(), requestId, principal: await principalOf(req) }
        let answer
        if (req.method === 'GET') {
          answer = engine.getConfig(tenant, ctx)
        } else {
          const body = await readBody(req)
          const ifMatch = req.headers['if-match']
          answer = engine.putConfig(tenant, body, ctx, ifMatch === undefined ? {} : { ifMatch })
        }
        const out = { tenant_id: answer.tenant_id, config_version: answer.config_version, config: answer.config }
        // Quoted (RFC 9110); If-Match takes the quoted and the bare form.
        return send(200, JSON.stringify(out), undefined, { ETag: `"${answer.config_version}"` })
      }
      return fail(404, null, 'no such route')
    } catch (err) {
      if (err instanceof HttpProblem || err instanceof AuthProblem) return fail(err.status, err.code, err.message)
      if (err instanceof recsys.RecsysError) {
        const extra = {}
        if (err.problems.length) extra.problems = err.problems
        if (err.details.current_version !== undefined) extra.current_version = err.details.current_version
        const retryAfter = err.details.retry_after
        const headers = err.code === 'RECSYS_OVERLOADED' && Number.isInteger(retryAfter) ? { 'Retry-After': String(retryAfter) } : undefined
        return fail(err.status, err.code, err.message, extra, headers)
      }
      console.error(err)
      return fail(500, 'RECSYS_INTERNAL', 'internal error')
    }
  }
}

/**
 * Where this process stands: readiness with its reasons (database, engine, not_reconciled,
 * feed_down), the change feed, and per tenant the revision reconciled, the lag and, per
 * surface, the versions served.
 */
function standing(state, clock, feedDownSeconds) {
  const { engine, store, fleet } = state
  const reasons = []
  let database = 'ok'
  if (store) {
    try {
      store.ping()
    } catch {
      database = 'failed'
      reasons.push('database')
    }
  }
  const readiness = engine.readiness(clock())
  if (readiness.status !== 'ready') reasons.push('engine')
  const feed = fleet ? fleet.report(feedDownSeconds) : null
  if (feed && !feed.reconciled) reasons.push('not_reconciled')
  if (feed && feed.down_seconds > feedDownSeconds) reasons.push('feed_down')
  return {
    status: reasons.length ? 'not_ready' : 'ready',
    pid: process.pid,
    reasons,
    database,
    engine: readiness,
    feed,
    tenants: engine.syncStatus(clock()).tenants,
  }
}

/**
 * Starts the service; resolves to {server, url, state} once it listens. With `dsn` (a
 * PostgreSQL DSN) the control plane lives in PostgreSQL and the process converges with the
 * fleet through LISTEN/NOTIFY (`reconcileSeconds`, default 5; `/readyz` fails once the feed
 * has been down longer than `feedDownSeconds`, default 30).
 */
async function start({ host = '127.0.0.1', port = 8080, ...options } = {}) {
  const auth = createAuth(options.auth) // fails fast on a bad JWT/JWKS setting
  // Async calls wait for the engine's admission gate on libuv's pool: give the pool a thread
  // for every admitted and queued call plus spares, so a full gate answers 503 at once rather
  // than requests queueing unseen in front of it. Only effective before the pool first runs.
  const gate = (options.engineOptions && options.engineOptions.backpressure) || {}
  if (gate.max_in_flight > 0 && !process.env.UV_THREADPOOL_SIZE) {
    const threads = gate.max_in_flight + (gate.max_queue || 0) + 4
    process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, threads)))
  }
  const clock = options.clock || (() => new Date().toISOString())
  let state
  if (options.dsn) {
    await migrate(options.dsn)
    const store = new PgStore(options.dsn)
    state = createEngine({ ...options, now: clock(), adapters: { store } })
    const fleet = new FleetSync(state.engine, options.dsn, { clock, reconcileSeconds: options.reconcileSeconds ?? 5 })
    fleet.reconcile()
    fleet.start()
    state = { ...state, store, fleet, auth }
  } else {
    state = { ...createEngine({ ...options, now: clock() }), auth }
  }
  if (auth.mode === 'dev-headers') {
    ;(options.log || jsonLine)({
      level: 'warn',
      msg: 'no api keys and no jwt auth configured: trusting development headers (X-Org-Id, X-Dev-Roles); ' +
        'set RECSYS_API_KEYS (make a hash with `recsys api-key hash`) or JWT_AUTH_ENABLED before exposing this service',
    })
  }
  const server = http.createServer(createHandler(state, options))
  server.on('close', () => {
    if (state.fleet) state.fleet.stop()
    if (state.store) state.store.close()
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const addr = server.address()
  return { server, state, url: `http://${addr.address}:${addr.port}` }
}

/** Command-line flags over the environment: --host/HOST, --port/PORT, --data, --dsn/RECSYS_PG_DSN, RECSYS_RECONCILE_SECONDS, RECSYS_FEED_DOWN_SECONDS, and the auth and backpressure settings of env.js. */
function optionsFromEnv(arg) {
  const env = process.env
  return {
    host: arg('host', env.HOST || '127.0.0.1'),
    port: Number(arg('port', env.PORT || 8080)),
    dataDir: path.resolve(arg('data', DEFAULT_DATA)),
    dsn: arg('dsn', env.RECSYS_PG_DSN),
    reconcileSeconds: Number(env.RECSYS_RECONCILE_SECONDS || 5),
    feedDownSeconds: Number(env.RECSYS_FEED_DOWN_SECONDS || 30),
    ...envOptions(env),
  }
}

module.exports = { readDocuments, createEngine, createHandler, start, standing, problemBody, optionsFromEnv }

if (require.main === module) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`)
    return i > 0 ? process.argv[i + 1] : fallback
  }
  start(optionsFromEnv(arg)).then(
    ({ url, state }) => console.log(`recsys node-service on ${url} (tenant ${state.tenant}, surface ${state.surface})`),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
