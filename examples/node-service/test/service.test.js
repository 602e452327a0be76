'use strict'
// Starts the service on 127.0.0.1 (a free port) and drives it over HTTP.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const recsys = require('../../../bindings/node/recsys.js')
const service = require('../server.js')

const DATA = path.join(__dirname, '..', '..', 'data')
const NOW = '2026-11-23T00:00:00Z'
const REQUEST = fs.readFileSync(path.join(DATA, 'request.json'), 'utf8')
const CONFIG_ETAG = recsys.etag(fs.readFileSync(path.join(DATA, 'config.json'), 'utf8'))
const CONFIG_URL = '/v1/admin/tenants/demo/config'
const ADMIN = { 'x-org-id': 'demo', 'x-dev-user-id': 'ops@example.com', 'x-dev-roles': 'admin' }
const VIEWER = { 'x-org-id': 'demo', 'x-dev-user-id': 'val', 'x-dev-roles': 'viewer' }

let running
test.before(async () => {
  running = await service.start({ host: '127.0.0.1', port: 0, clock: () => NOW })
})
test.after(() => new Promise((resolve) => running.server.close(resolve)))

async function http(method, p, { headers = {}, body } = {}) {
  const res = await fetch(running.url + p, { method, headers, body })
  const text = await res.text()
  const type = res.headers.get('content-type') || ''
  return { status: res.status, headers: res.headers, type, text, json: type.includes('json') ? JSON.parse(text) : undefined }
}

function assertProblem(r, status, code, p) {
  assert.equal(r.status, status, r.text)
  assert.equal(r.type, 'application/problem+json')
  assert.equal(r.json.status, status)
  assert.equal(r.json.code, code)
  assert.equal(r.json.type, 'https://errors.recsys.example/problem/' + code.toLowerCase().replace(/_/g, '-'))
  assert.equal(typeof r.json.title, 'string')
  assert.equal(typeof r.json.detail, 'string')
  assert.equal(r.json.instance, p)
  assert.equal(r.json.request_id, r.headers.get('x-request-id'))
}

test('GET /healthz', async () => {
  const r = await http('GET', '/healthz')
  assert.equal(r.status, 200)
  assert.equal(r.json.status, 'healthy')
  assert.deepEqual(JSON.stringify(r.json.snapshots).includes('"home"'), true)
})

test('POST /v1/recommend answers like the engine itself, byte for byte', async () => {
  const r = await http('POST', '/v1/recommend', { headers: { 'x-org-id': 'demo', 'x-request-id': 'req-42' }, body: REQUEST })
  assert.equal(r.status, 200, r.text)
  assert.equal(r.headers.get('x-request-id'), 'req-42')
  assert.equal(r.json.items.length, 5)
  assert.deepEqual(r.json.items.map((i) => i.rank), [1, 2, 3, 4, 5])
  assert.equal(r.json.meta.request_id, 'req-42')
  assert.equal(r.json.meta.tenant_id, 'demo')
  // A separately built engine with the same data, request and context gives the same bytes.
  const { engine } = service.createEngine({ now: NOW })
  assert.equal(r.text, engine.recommendJson(REQUEST, JSON.stringify({ now: NOW, request_id: 'req-42', tenant: 'demo' })))
  // Without X-Request-Id the service makes one and reports it.
  const r2 = await http('POST', '/v1/recommend', { headers: { 'x-org-id': 'demo' }, body: REQUEST })
  assert.match(r2.headers.get('x-request-id'), /^node-service-\d{6}$/)
  assert.equal(r2.json.meta.request_id, r2.headers.get('x-request-id'))
})

test('POST /v1/recommend errors are problem+json', async () => {
  const h = { 'x-org-id': 'demo' }
  assertProblem(await http('POST', '/v1/recommend', { headers: h, body: '{"k":3,"user":{"user_id":"u"}}' }), 400, 'RECSYS_INVALID_REQUEST', '/v1/recommend')
  assertProblem(await http('POST', '/v1/recommend', { headers: h, body: '{"surface":"home"}' }), 422, 'RECSYS_UNPROCESSABLE_ENTITY', '/v1/recommend')
  assertProblem(await http('POST', '/v1/recommend', { headers: h, body: '{"surface":' }), 400, 'RECSYS_JSON_SYNTAX', '/v1/recommend')
  assertProblem(await http('POST', '/v1/recommend', { headers: h, body: '' }), 400, 'RECSYS_INVALID_REQUEST', '/v1/recommend')
  assertProblem(await http('POST', '/v1/recommend', { body: REQUEST }), 403, 'RECSYS_TENANT_SCOPE_REQUIRED', '/v1/recommend')
  assertProblem(await http('POST', '/v1/recommend', { headers: { 'x-org-id': 'a,b' }, body: REQUEST }), 403, 'RECSYS_TENANT_SCOPE_INVALID', '/v1/recommend')
  const big = '{"surface":"home","pad":"' + 'x'.repeat((1 << 20) + 10) + '"}'
  assertProblem(await http('POST', '/v1/recommend', { headers: h, body: big }), 400, 'RECSYS_INVALID_REQUEST', '/v1/recommend')
})

test('admin config: GET with ETag, PUT with If-Match, serving follows', async () => {
  const got = await http('GET', CONFIG_URL, { headers: VIEWER })
  assert.equal(got.status, 200, got.text)
  assert.equal(got.headers.get('etag'), `"${CONFIG_ETAG}"`) // quoted (RFC 9110)
  assert.deepEqual(got.json, {
    tenant_id: 'demo',
    config_version: CONFIG_ETAG,
    config: JSON.parse(fs.readFileSync(path.join(DATA, 'config.json'), 'utf8')),
  })

  const doc = '{"algo":"popularity","weights":{"pop":1.0,"cooc":0,"emb":0}}'
  const put = await http('PUT', CONFIG_URL, { headers: { ...ADMIN, 'if-match': `"${CONFIG_ETAG}"` }, body: doc })
  assert.equal(put.status, 200, put.text)
  assert.equal(put.headers.get('etag'), `"${recsys.etag(doc)}"`)
  assert.equal(put.json.config_version, recsys.etag(doc))
  assert.deepEqual(Object.keys(put.json), ['tenant_id', 'config_version', 'config'])

  // The stale version is refused, and says which version is current.
  const stale = await http('PUT', CONFIG_URL, { headers: { ...ADMIN, 'if-match': CONFIG_ETAG }, body: '{"algo":"blend"}' })
  assertProblem(stale, 409, 'RECSYS_VERSION_MISMATCH', CONFIG_URL)
  assert.equal(stale.json.current_version, recsys.etag(doc))

  // Recommendations now carry the new version.
  const rec = await http('POST', '/v1/recommend', { headers: { 'x-org-id': 'demo' }, body: REQUEST })
  assert.equal(rec.json.meta.config_version, recsys.etag(doc))

  // Roll back by putting the old document again (no If-Match: unconditional).
  const back = await http('PUT', CONFIG_URL, { headers: ADMIN, body: fs.readFileSync(path.join(DATA, 'config.json')) })
  assert.equal(back.status, 200, back.text)
  assert.equal(back.headers.get('etag'), `"${CONFIG_ETAG}"`)
  const again = await http('GET', CONFIG_URL, { headers: VIEWER })
  assert.equal(again.headers.get('etag'), `"${CONFIG_ETAG}"`)
})

test('admin config errors', async () => {
  assertProblem(await http('PUT', CONFIG_URL, { headers: ADMIN, body: '{"weights":{"pop":-1}}' }), 422, 'RECSYS_INVALID_CONFIG', CONFIG_URL)
  const invalid = await http('PUT', CONFIG_URL, { headers: ADMIN, body: '{"weights":{"pop":-1}}' })
  assert.equal(invalid.json.problems[0].path, '$.weights.pop')
  assertProblem(await http('PUT', CONFIG_URL, { headers: ADMIN, body: '' }), 400, 'RECSYS_INVALID_CONFIG', CONFIG_URL)
  assertProblem(await http('PUT', CONFIG_URL, { headers: VIEWER, body: '{}' }), 403, 'RECSYS_FORBIDDEN', CONFIG_URL)
  // A caller of tenant "other" cannot read or write demo's config.
  const other = { 'x-org-id': 'other', 'x-dev-roles': 'admin' }
  assertProblem(await http('GET', CONFIG_URL, { headers: other }), 403, 'RECSYS_FORBIDDEN', CONFIG_URL)
  assertProblem(await http('PUT', CONFIG_URL, { headers: other, body: '{}' }), 403, 'RECSYS_FORBIDDEN', CONFIG_URL)
  assertProblem(await http('GET', CONFIG_URL, {}), 403, 'RECSYS_TENANT_SCOPE_REQUIRED', CONFIG_URL)
  // A tenant without a config.
  const acme = '/v1/admin/tenants/acme/config'
  assertProblem(await http('GET', acme, { headers: { 'x-org-id': 'acme', 'x-dev-roles': 'viewer' } }), 404, 'RECSYS_CONFIG_NOT_FOUND', acme)
  // If-Match on a tenant that has no config yet.
  assertProblem(
    await http('PUT', acme, { headers: { 'x-org-id': 'acme', 'x-dev-roles': 'admin', 'if-match': CONFIG_ETAG }, body: '{}' }),
    409,
    'RECSYS_VERSION_MISMATCH',
    acme,
  )
})

test('routing: 404, 405 with Allow, metrics', async () => {
  const nf = await http('GET', '/nope')
  assert.equal(nf.status, 404)
  assert.equal(nf.type, 'application/problem+json')
  assert.equal(nf.json.code, undefined)
  const na = await http('DELETE', CONFIG_URL, { headers: ADMIN })
  assert.equal(na.status, 405)
  assert.equal(na.headers.get('allow'), 'GET, PUT')
  assert.equal((await http('GET', '/v1/recommend')).headers.get('allow'), 'POST')
  const m = await http('GET', '/metrics')
  assert.equal(m.status, 200)
  assert.match(m.text, /recsys_recommendation_requests_total\{empty="false",endpoint="recommend",outcome="success"\} \d+/)
})

test('the same service on a JS document store adapter answers the same', async () => {
  const store = new recsys.MemoryStore()
  const alt = await service.start({ host: '127.0.0.1', port: 0, clock: () => NOW, adapters: { store } })
  try {
    const get = await fetch(alt.url + CONFIG_URL, { headers: VIEWER })
    assert.equal(get.status, 200)
    assert.equal(get.headers.get('etag'), `"${CONFIG_ETAG}"`)
    // The documents live in the JS store.
    assert.equal(store.current('demo', 'config').etag, CONFIG_ETAG)
    assert.equal(store.listVersions('demo', 'rules').length, 1)
    const put = await fetch(alt.url + CONFIG_URL, { method: 'PUT', headers: { ...ADMIN, 'if-match': 'stale' }, body: '{}' })
    assert.equal(put.status, 409)
    const rec = await fetch(alt.url + '/v1/recommend', { method: 'POST', headers: { 'x-org-id': 'demo', 'x-request-id': 'req-42' }, body: REQUEST })
    const { engine } = service.createEngine({ now: NOW })
    assert.equal(await rec.text(), engine.recommendJson(REQUEST, JSON.stringify({ now: NOW, request_id: 'req-42', tenant: 'demo' })))
  } finally {
    await new Promise((resolve) => alt.server.close(resolve))
  }
})
