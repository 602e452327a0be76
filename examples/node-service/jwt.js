'use strict'
// JWT bearer tokens verified with node:crypto against a JWKS (a file, or an https URL on an
// allowed host): signature (RS*/PS*/ES*), issuer, audience, expiry and not-before with a
// clock skew; the tenant and roles come from configured claims (the reference's rules:
// dotted paths, first non-empty tenant claim, roles as the union of the role claims).

const crypto = require('node:crypto')
const fs = require('node:fs')

const DEFAULT_TENANT_CLAIMS = ['tenant_id', 'org_id', 'orgId', 'organization_id']
const DEFAULT_ROLE_CLAIMS = ['roles', 'role', 'scope', 'scopes']
const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384']

/** How each JWS algorithm verifies with node:crypto. */
const ALGORITHMS = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  PS384: { hash: 'sha384', padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  ES384: { hash: 'sha384', dsaEncoding: 'ieee-p1363' },
}

/** A refused token; `reason` is safe to show to the caller. */
class JwtInvalid extends Error {
  constructor(reason) {
    super(reason)
    this.reason = reason
  }
}

/** The token of an `Authorization: Bearer <token>` header; any other shape is refused. */
function bearerToken(header) {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header || '')
  if (!m) throw new JwtInvalid("authorization header must be 'Bearer <token>'")
  return m[1]
}

/** https only (unless allowed) and, with an allow-list, only its hosts (case-insensitive). */
function checkJwksUrl(url, allowedHosts = [], allowInsecure = false) {
  let u
  try {
    u = new URL(url)
  } catch {
    throw new Error(`jwks url must be an absolute https url, got ${JSON.stringify(url)}`)
  }
  if (u.protocol !== 'https:' && !(allowInsecure && u.protocol === 'http:')) {
    throw new Error(`jwks url must use https (allowInsecureJwks allows http), got ${JSON.stringify(url)}`)
  }
  const host = u.hostname.toLowerCase()
  if (allowedHosts.length && !allowedHosts.map((h) => h.toLowerCase()).includes(host)) {
    throw new Error(`jwks url host ${JSON.stringify(host)} is not in the allowed hosts (${allowedHosts.join(', ')})`)
  }
}

function claim(claims, p) {
  if (Object.prototype.hasOwnProperty.call(claims, p)) return claims[p]
  let node = claims
  for (const part of p.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(part in node)) return undefined
    node = node[part]
  }
  return node
}

/** The first non-empty tenant claim; non-string scalars are stringified. */
function tenantOf(claims, names) {
  for (const n of names) {
    const v = claim(claims, n)
    if (v === undefined || v === null || typeof v === 'object') continue
    const s = (typeof v === 'string' ? v : JSON.stringify(v)).trim()
    if (s) return s
  }
  return ''
}

/** Union of the role claims: several words split on whitespace, else commas; arrays element-wise. */
function rolesOf(claims, names) {
  const out = []
  const seen = new Set()
  for (const n of names) {
    const v = claim(claims, n)
    let items
    if (typeof v === 'string') {
      const words = v.split(/\s+/).filter(Boolean)
      items = words.length > 1 ? words : v.split(',')
    } else if (Array.isArray(v)) {
      items = v
    } else continue
    for (const item of items) {
      if (typeof item !== 'string' || !item.trim()) continue
      const role = item.trim()
      if (!seen.has(role.toLowerCase())) {
        seen.add(role.toLowerCase())
        out.push(role)
      }
    }
  }
  return out
}

function b64json(part, what) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new JwtInvalid(`malformed token (${what})`)
  }
}

/**
 * A verifier. `options`: `{issuer, audience, jwksFile | jwksUrl, allowedHosts, allowInsecureJwks,
 * algorithms, leewaySeconds (30), refreshSeconds (600), tenantClaims, roleClaims,
 * requireTenantClaim, fetch (for tests), now (seconds, for tests)}`.
 */
class JwtVerifier {
  constructor(options) {
    const o = options || {}
    if (!o.issuer || !o.audience) throw new Error('jwt issuer and audience are required')
    if (Boolean(o.jwksFile) === Boolean(o.jwksUrl)) throw new Error('set exactly one of jwksFile and jwksUrl')
    if (o.jwksUrl) checkJwksUrl(o.jwksUrl, o.allowedHosts || [], Boolean(o.allowInsecureJwks))
    this.o = {
      leewaySeconds: 30,
      refreshSeconds: 600,
      algorithms: DEFAULT_ALGORITHMS,
      tenantClaims: DEFAULT_TENANT_CLAIMS,
      roleClaims: DEFAULT_ROLE_CLAIMS,
      ...o,
    }
    this.keys = null
    this.loadedAt = 0
    this.loading = null
    if (o.jwksFile) this.keys = this.#index(JSON.parse(fs.readFileSync(o.jwksFile, 'utf8')))
  }

  #index(jwks) {
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error('a jwks must be {"keys": [...]}')
    const byKid = new Map()
    for (const jwk of jwks.keys) {
      if (jwk.use && jwk.use !== 'sig') continue
      try {
        byKid.set(jwk.kid ?? '', { jwk, key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) })
      } catch {
        // A key this runtime cannot import is skipped, as an unknown kid would be.
      }
    }
    return byKid
  }

  async #keysNow(refresh) {
    const o = this.o
    if (o.jwksFile) return this.keys
    const stale = Date.now() - this.loadedAt > o.refreshSeconds * 1000
    if (this.keys && !stale && !refresh) return this.keys
    if (!this.loading) {
      const get = o.fetch || fetch
      this.loading = (async () => {
        const res = await get(o.jwksUrl, { redirect: 'error', signal: AbortSignal.timeout(5000) })
        if (!res.ok) throw new Error(`jwks fetch answered ${res.status}`)
        this.keys = this.#index(await res.json())
        this.loadedAt = Date.now()
        return this.keys
      })().finally(() => {
        this.loading = null
      })
    }
    try {
      return await this.loading
    } catch (err) {
      if (this.keys) return this.keys // keep the last good set
      throw new JwtInvalid(`signing key unavailable: ${err.message}`)
    }
  }

  /** The verified claims of `token`. */
  async claims(token) {
    const parts = String(token).split('.')
    if (parts.length !== 3) throw new JwtInvalid('malformed token')
    const header = b64json(parts[0], 'header')
    const o = this.o
    const alg = header.alg
    if (!o.algorithms.includes(alg) || !ALGORITHMS[alg]) throw new JwtInvalid(`algorithm ${JSON.stringify(alg)} is not allowed`)
    let keys = await this.#keysNow(false)
    const kid = header.kid ?? ''
    if (!keys.has(kid) && o.jwksUrl) keys = await this.#keysNow(true) // key rotation
    let entry = keys.get(kid)
    if (!entry && header.kid === undefined && keys.size === 1) entry = [...keys.values()][0]
    if (!entry) throw new JwtInvalid(`no key ${JSON.stringify(kid)} in the jwks`)
    const a = ALGORITHMS[alg]
    const ok = crypto.verify(
      a.hash,
      Buffer.from(parts[0] + '.' + parts[1]),
      { key: entry.key, padding: a.padding, saltLength: a.saltLength, dsaEncoding: a.dsaEncoding },
      Buffer.from(parts[2], 'base64url'),
    )
    if (!ok) throw new JwtInvalid('bad signature')
    const c = b64json(parts[1], 'payload')
    if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new JwtInvalid('malformed token (payload)')
    const now = o.now ? o.now() : Math.floor(Date.now() / 1000)
    if (typeof c.exp !== 'number') throw new JwtInvalid('token has no exp')
    if (now - o.leewaySeconds >= c.exp) throw new JwtInvalid('token expired')
    if (typeof c.nbf === 'number' && now + o.leewaySeconds < c.nbf) throw new JwtInvalid('token not yet valid')
    if (c.iss !== o.issuer) throw new JwtInvalid('wrong issuer')
    const aud = Array.isArray(c.aud) ? c.aud : [c.aud]
    if (!aud.includes(o.audience)) throw new JwtInvalid('wrong audience')
    return c
  }

  /** `{subject, tenant, roles, type: 'user', tenantFromClaim}` for a verified token. */
  async principal(token) {
    const c = await this.claims(token)
    const tenant = tenantOf(c, this.o.tenantClaims)
    return {
      subject: typeof c.sub === 'string' ? c.sub : '',
      tenant,
      roles: rolesOf(c, this.o.roleClaims),
      type: 'user',
      tenantFromClaim: Boolean(tenant),
    }
  }
}

module.exports = { JwtVerifier, JwtInvalid, bearerToken, checkJwksUrl, tenantOf, rolesOf }
