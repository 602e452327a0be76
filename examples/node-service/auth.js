'use strict'
// Who is calling: JWT bearer tokens (./jwt.js), API keys (hashed and verified with the core's
// `api_key_hash` / `api_key_verify`), or, only when neither is configured, development
// headers. The reference's rules: a token gives subject, tenant and roles; an API key beside
// it adds its roles and must agree on the tenant; a malformed `Authorization` header is a
// 401 even next to a valid key; the tenant header, when present, must name the same tenant.
//
// options: {
//   jwt: {issuer, audience, jwksFile | jwksUrl, allowedHosts, allowInsecureJwks, ...} (see jwt.js),
//   apiKeys: {secret, keys: [{id, hash, tenant, roles}], header = 'x-api-key'},
//   tenantHeader = 'x-org-id',
// }

const recsys = require('../../bindings/node/recsys.js')
const { JwtVerifier, JwtInvalid, bearerToken } = require('./jwt.js')

class AuthProblem extends Error {
  constructor(status, code, detail) {
    super(detail)
    this.status = status
    this.code = code
  }
}

/** The stored form of an API key (the core's reference-compatible hash). */
function hashApiKey(secret, key) {
  return JSON.parse(recsys.callStatic('api_key_hash', JSON.stringify({ secret, key }))).hash
}

function createAuth(options = {}) {
  const verifier = options.jwt ? new JwtVerifier(options.jwt) : null
  const keys = options.apiKeys || null
  const keyHeader = ((keys && keys.header) || 'x-api-key').toLowerCase()
  const tenantHeader = (options.tenantHeader || 'x-org-id').toLowerCase()
  const byHash = new Map(((keys && keys.keys) || []).map((k) => [k.hash, k]))
  const mode = verifier || keys ? 'credentials' : 'dev-headers'
  const requireTenantClaim = Boolean(options.jwt && options.jwt.requireTenantClaim)

  function apiKeyPrincipal(key) {
    const found = byHash.get(hashApiKey(keys.secret || '', key))
    if (!found) throw new AuthProblem(401, 'RECSYS_AUTH_INVALID', 'invalid api key')
    // Constant-time check against the stored hash (the core's verifier).
    recsys.callStatic('api_key_verify', JSON.stringify({ secret: keys.secret || '', key, hash: found.hash }))
    return { subject: `api-key:${found.id}`, tenant: found.tenant, roles: [...(found.roles || [])], type: 'api_key' }
  }

  async function bearerPrincipal(header) {
    try {
      const token = bearerToken(header)
      if (!verifier) throw new JwtInvalid('bearer tokens are not accepted by this service (jwt auth is off)')
      return await verifier.principal(token)
    } catch (err) {
      if (err instanceof JwtInvalid) throw new AuthProblem(401, 'RECSYS_AUTH_INVALID', `invalid bearer token: ${err.reason}`)
      throw err
    }
  }

  function headerTenant(req) {
    const raw = req.headers[tenantHeader]
    if (raw === undefined) return ''
    const values = Array.isArray(raw) ? raw : [raw]
    if (values.length > 1 || values.some((v) => /[,\s]/.test(v.trim()) || v.includes(','))) {
      throw new AuthProblem(403, 'RECSYS_TENANT_SCOPE_INVALID', 'tenant scope invalid')
    }
    return values[0].trim()
  }

  /** Development headers: X-Org-Id (tenant), X-Dev-User-Id, X-Dev-Roles. */
  function devPrincipal(req) {
    const tenant = headerTenant(req)
    if (!tenant) throw new AuthProblem(403, 'RECSYS_TENANT_SCOPE_REQUIRED', 'tenant scope required')
    return {
      subject: (req.headers['x-dev-user-id'] || '').trim(),
      tenant,
      roles: (req.headers['x-dev-roles'] || '').split(',').map((r) => r.trim()).filter(Boolean),
      type: 'dev',
    }
  }

  /** Resolves the caller of `req` (a node:http request) or throws an AuthProblem. */
  async function principal(req) {
    if (mode === 'dev-headers') return devPrincipal(req)
    const header = req.headers.authorization
    const key = keys ? (req.headers[keyHeader] || '').trim() : ''
    if (header === undefined && !key) throw new AuthProblem(401, 'RECSYS_AUTH_REQUIRED', 'authentication required')
    let p = header !== undefined ? await bearerPrincipal(header) : null
    if (key) {
      const k = apiKeyPrincipal(key)
      if (p && p.tenant && p.tenant !== k.tenant) throw new AuthProblem(403, 'RECSYS_TENANT_SCOPE_MISMATCH', 'tenant scope mismatch')
      if (p) {
        const have = new Set(p.roles.map((r) => r.toLowerCase()))
        p = { ...p, tenant: k.tenant, roles: [...p.roles, ...k.roles.filter((r) => !have.has(r.toLowerCase()))] }
      } else {
        p = k
      }
    }
    const fromHeader = headerTenant(req)
    if (fromHeader && p.tenant && fromHeader !== p.tenant) {
      throw new AuthProblem(403, 'RECSYS_TENANT_SCOPE_MISMATCH', 'tenant scope mismatch')
    }
    if (!p.tenant) {
      if (!fromHeader || requireTenantClaim) throw new AuthProblem(403, 'RECSYS_TENANT_SCOPE_REQUIRED', 'tenant scope required')
      p = { ...p, tenant: fromHeader }
    }
    return { subject: p.subject, tenant: p.tenant, roles: p.roles, type: p.type }
  }

  return { principal, mode }
}

module.exports = { createAuth, hashApiKey, AuthProblem }
