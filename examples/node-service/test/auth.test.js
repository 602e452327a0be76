'use strict'
// JWT bearer auth and API keys (./auth.js, ./jwt.js) over HTTP: tokens signed by a key of the
// JWKS (a file, or a loopback URL on an allowed host) are accepted; wrong issuer, audience,
// signature, expiry or algorithm are 401; tenant and roles come from the configured claims;
// API keys work beside tokens; a malformed Authorization header is a 401 even next to a valid key.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const service = require('../server.js')
const { hashApiKey } = require('../auth.js')
const { JwtVerifier, rolesOf, tenantOf, checkJwksUrl } = require('../jwt.js')
const { optionsFromEnv, backpressureFromEnv } = require('../env.js')

const DATA = path.join(__dirname, '..', '..', 'data')
const REQUEST = fs.readFileSync(path.join(DATA, 'request.json'), 'utf8')
const CONFIG_URL = '/v1/admin/tenants/demo/config'
const ISS = 'https://id.example.test/'
const AUD = 'recsys'
const RSA = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const OTHER = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const EC = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
const JWKS = {
  keys: [
    { ...RSA.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig', alg: 'RS256' },
    { ...EC.publicKey.export({ format: 'jwk' }), kid: 'ec-1', use: 'sig', alg: 'ES256' },
  ],
}
const SECRET = 'node-pepper'
const KEYS = [
  { id: 'k-admin', hash: hashApiKey(SECRET, 'admin-key'), tenant: 'demo', roles: ['admin'] },
  { id: 'k-other', hash: hashApiKey(SECRET, 'other-key'), tenant: 'acme', roles: ['admin'] },
]

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
function token(claims = {}, { key = RSA.privateKey, kid = 'rsa-1', alg = 'RS256', drop = [] } = {}) {
  const now = Math.floor(Date.now() / 1000)
  const body = { iss: ISS, aud: AUD, sub: 'user-42', exp: now + 300, iat: now, tenant_id: 'demo', roles: ['operator'], ...claims }
  for (const k of drop) delete body[k]
  const input = `${b64({ alg, typ: 'JWT', kid })}.${b64(body)}`
  const sig =
    alg === 'HS256'
      ? crypto.createHmac('sha256', 'a-shared-secret').update(input).digest()
      : crypto.sign('sha256', Buffer.from(input), alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key)
  return `${input}.${sig.toString('base64url')}`
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-jwt-'))
const jwksFile = path.join(dir, 'jwks.json')
fs.writeFileSync(jwksFile, JSON.stringify(JWKS))

const logs = []
let running
test.before(async () => {
  running = await service.start({
    host: '127.0.0.1',
    port: 0,
    clock: () => '2026-11-23T00:00:00Z',
    log: (l) => logs.push(l),
    auth: { jwt: { issuer: ISS, audience: AUD, jwksFile }, apiKeys: { secret: SECRET, keys: KEYS } },
  })
})
test.after(() => new Promise((resolve) => running.server.close(resolve)))

async function call(method, p, headers = {}, body) {
  const res = await fetch(running.url + p, { method, headers, body })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined }
}
const bearer = (t, extra = {}) => ({ authorization: `Bearer ${t}`, ...extra })

test('valid tokens serve and administer; roles come from the claims', async () => {
  const r = await call('POST', '/v1/recommend', bearer(token()), REQUEST)
  assert.equal(r.status, 200, r.text)
  assert.equal(r.json.meta.tenant_id, 'demo')
  const put = await call('PUT', CONFIG_URL, bearer(token()), '{"weights":{"pop":2}}')
  assert.equal(put.status, 200, put.text)
  const ecViewer = token({ roles: 'viewer' }, { key: EC.privateKey, kid: 'ec-1', alg: 'ES256' })
  assert.equal((await call('GET', CONFIG_URL, bearer(ecViewer))).status, 200)
  const denied = await call('PUT', CONFIG_URL, bearer(ecViewer), '{}')
  assert.equal(denied.json.code, 'RECSYS_FORBIDDEN')
})

test('bad tokens are 401 RECSYS_AUTH_INVALID with the reason', async () => {
  const now = Math.floor(Date.now() / 1000)
  for (const [t, why] of [
    [token({ iss: 'https://evil.test/' }), 'wrong issuer'],
    [token({ aud: 'someone-else' }), 'wrong audience'],
    [token({ exp: now - 120 }), 'token expired'],
    [token({}, { key: OTHER.privateKey }), 'bad signature'],
    [token({}, { kid: 'nope' }), 'no key "nope"'],
    [token({}, { drop: ['exp'] }), 'no exp'],
    [token({}, { alg: 'HS256' }), 'algorithm "HS256"'],
    ['not.a.jwt', 'malformed token'],
  ]) {
    const r = await call('POST', '/v1/recommend', bearer(t), REQUEST)
    assert.equal(r.status, 401, why)
    assert.equal(r.json.code, 'RECSYS_AUTH_INVALID')
    assert.ok(r.json.detail.includes(why), `${why}: ${r.json.detail}`)
  }
})

test('a malformed Authorization header next to a valid API key is 401; keys still work', async () => {
  for (const h of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer ', 'token', 'Bearer a b']) {
    const r = await call('POST', '/v1/recommend', { 'x-api-key': 'admin-key', authorization: h }, REQUEST)
    assert.equal(r.status, 401, h)
    assert.equal(r.json.code, 'RECSYS_AUTH_INVALID')
  }
  assert.equal((await call('POST', '/v1/recommend', { 'x-api-key': 'admin-key' }, REQUEST)).status, 200)
  assert.equal((await call('POST', '/v1/recommend', {}, REQUEST)).json.code, 'RECSYS_AUTH_REQUIRED')
  assert.equal((await call('POST', '/v1/recommend', { 'x-api-key': 'nope' }, REQUEST)).json.code, 'RECSYS_AUTH_INVALID')
  // A viewer token plus an admin key: the key's roles are added.
  const viewer = token({ roles: ['viewer'] })
  assert.equal((await call('PUT', CONFIG_URL, bearer(viewer), '{}')).status, 403)
  assert.equal((await call('PUT', CONFIG_URL, bearer(viewer, { 'x-api-key': 'admin-key' }), '{}')).status, 200)
  // ...but the tenants must agree.
  const mismatch = await call('POST', '/v1/recommend', bearer(token(), { 'x-api-key': 'other-key' }), REQUEST)
  assert.equal(mismatch.json.code, 'RECSYS_TENANT_SCOPE_MISMATCH')
  const header = await call('POST', '/v1/recommend', bearer(token(), { 'x-org-id': 'acme' }), REQUEST)
  assert.equal(header.json.code, 'RECSYS_TENANT_SCOPE_MISMATCH')
  // Log lines name the auth type and tenant, never the token subject or the key.
  const text = JSON.stringify(logs)
  assert.ok(!text.includes('user-42') && !text.includes('admin-key'))
  assert.ok(logs.some((l) => l.auth === 'user' && l.tenant === 'demo'))
})

test('claim helpers follow the reference rules', () => {
  assert.equal(tenantOf({ org_id: 42 }, ['tenant_id', 'org_id']), '42')
  assert.equal(tenantOf({ org: { id: 'x' } }, ['org.id']), 'x')
  assert.deepEqual(rolesOf({ roles: ['Admin', 'admin'], scope: 'read write', role: 'a,b' }, ['roles', 'role', 'scope']), [
    'Admin',
    'a',
    'b',
    'read',
    'write',
  ])
  assert.throws(() => checkJwksUrl('http://id.example.test/jwks'), /must use https/)
  assert.throws(() => checkJwksUrl('https://evil.test/jwks', ['id.example.test']), /not in the allowed hosts/)
  checkJwksUrl('https://ID.example.test/jwks', ['id.example.test'])
  assert.throws(() => new JwtVerifier({ issuer: ISS, jwksFile }), /issuer and audience are required/)
})

test('a JWKS from a loopback URL is fetched once and cached; tenant claims are configurable', async () => {
  let hits = 0
  const server = http.createServer((req, res) => {
    hits++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(JWKS))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${server.address().port}/jwks.json`
  try {
    const v = new JwtVerifier({ issuer: ISS, audience: AUD, jwksUrl: url, allowedHosts: ['127.0.0.1'], allowInsecureJwks: true, tenantClaims: ['org.external_id'], roleClaims: ['scope'] })
    for (let i = 0; i < 3; i++) {
      const p = await v.principal(token({ org: { external_id: 'demo' }, scope: 'viewer openid' }, { drop: ['tenant_id', 'roles'] }))
      assert.deepEqual(p, { subject: 'user-42', tenant: 'demo', roles: ['viewer', 'openid'], type: 'user', tenantFromClaim: true })
    }
    assert.equal(hits, 1)
    assert.throws(() => new JwtVerifier({ issuer: ISS, audience: AUD, jwksUrl: url, allowedHosts: ['id.example.test'], allowInsecureJwks: true }), /not in the allowed hosts/)
  } finally {
    await new Promise((r) => server.close(r))
  }
})

test('settings from the environment', () => {
  const o = optionsFromEnv({
    JWT_AUTH_ENABLED: 'true',
    JWT_JWKS_FILE: jwksFile,
    JWT_ISSUER: ISS,
    JWT_AUDIENCE: AUD,
    AUTH_ROLE_CLAIMS: 'groups',
    RECSYS_API_KEY_SECRET: SECRET,
    RECSYS_API_KEYS: JSON.stringify(KEYS),
    RECSYS_BACKPRESSURE_MAX_INFLIGHT: '4',
  })
  assert.deepEqual(o.auth.jwt.roleClaims, ['groups'])
  assert.equal(o.auth.apiKeys.keys.length, 2)
  assert.deepEqual(o.engineOptions.backpressure, { max_in_flight: 4, max_queue: 4, queue_timeout_ms: 200, retry_after_ms: 1000 })
  assert.equal(backpressureFromEnv({}), undefined)
  assert.throws(() => backpressureFromEnv({ RECSYS_BACKPRESSURE_MAX_INFLIGHT: '1', RECSYS_BACKPRESSURE_WAIT_TIMEOUT: 'soon' }), /must be a duration/)
})
