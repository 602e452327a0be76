'use strict'
// Service options from the environment, with the reference service's variable names where it
// has them: JWT (`JWT_AUTH_ENABLED`, `JWT_JWKS_URL` or `JWT_JWKS_FILE`, `AUTH_JWKS_ALLOWED_HOSTS`,
// `AUTH_ALLOW_INSECURE_JWKS`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_ALLOWED_ALGORITHMS`,
// `JWT_ALLOWED_CLOCK_SKEW`, `AUTH_TENANT_CLAIMS`, `AUTH_ROLE_CLAIMS`, `AUTH_REQUIRE_TENANT_CLAIM`),
// API keys (`RECSYS_API_KEY_SECRET`, `RECSYS_API_KEYS`: a JSON list of {id, hash, tenant, roles}
// or a path to one) and backpressure (`RECSYS_BACKPRESSURE_MAX_INFLIGHT`, `_MAX_QUEUE`,
// `_WAIT_TIMEOUT`, `_RETRY_AFTER`; durations like `200ms`, `1s`).

const fs = require('node:fs')

const csv = (s) => (s || '').split(',').map((x) => x.trim()).filter(Boolean)
const flag = (s) => ['1', 'true', 'yes', 'on'].includes((s || '').trim().toLowerCase())

/** `250ms`, `2s`, `1m` or a bare number of milliseconds. */
function durationMs(text, name) {
  const m = /^\s*(\d+)\s*(ms|s|m)?\s*$/i.exec(text)
  if (!m) throw new Error(`${name} must be a duration such as 200ms or 1s, got ${JSON.stringify(text)}`)
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[(m[2] || 'ms').toLowerCase()]
}

/**
 * The engine's `backpressure` option, or undefined when the in-flight cap is unset or 0.
 * The queue is never unbounded: `_MAX_QUEUE` defaults to the in-flight cap.
 */
function backpressureFromEnv(env) {
  const inflight = Number(env.RECSYS_BACKPRESSURE_MAX_INFLIGHT || 0)
  if (!(inflight > 0)) return undefined
  return {
    max_in_flight: inflight,
    max_queue: Number(env.RECSYS_BACKPRESSURE_MAX_QUEUE || inflight),
    queue_timeout_ms: durationMs(env.RECSYS_BACKPRESSURE_WAIT_TIMEOUT || '200ms', 'RECSYS_BACKPRESSURE_WAIT_TIMEOUT'),
    retry_after_ms: durationMs(env.RECSYS_BACKPRESSURE_RETRY_AFTER || '1s', 'RECSYS_BACKPRESSURE_RETRY_AFTER'),
  }
}

function optionsFromEnv(env) {
  const auth = {}
  if (flag(env.JWT_AUTH_ENABLED)) {
    auth.jwt = {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      jwksFile: env.JWT_JWKS_FILE || undefined,
      jwksUrl: env.JWT_JWKS_URL || undefined,
      allowedHosts: csv(env.AUTH_JWKS_ALLOWED_HOSTS),
      allowInsecureJwks: flag(env.AUTH_ALLOW_INSECURE_JWKS),
      requireTenantClaim: flag(env.AUTH_REQUIRE_TENANT_CLAIM),
      ...(csv(env.JWT_ALLOWED_ALGORITHMS).length ? { algorithms: csv(env.JWT_ALLOWED_ALGORITHMS) } : {}),
      ...(csv(env.AUTH_TENANT_CLAIMS).length ? { tenantClaims: csv(env.AUTH_TENANT_CLAIMS) } : {}),
      ...(csv(env.AUTH_ROLE_CLAIMS).length ? { roleClaims: csv(env.AUTH_ROLE_CLAIMS) } : {}),
      ...(env.JWT_ALLOWED_CLOCK_SKEW ? { leewaySeconds: Number(env.JWT_ALLOWED_CLOCK_SKEW) } : {}),
    }
  }
  if (env.RECSYS_API_KEYS) {
    const text = env.RECSYS_API_KEYS.trim().startsWith('[') ? env.RECSYS_API_KEYS : fs.readFileSync(env.RECSYS_API_KEYS, 'utf8')
    auth.apiKeys = { secret: env.RECSYS_API_KEY_SECRET || '', keys: JSON.parse(text) }
  }
  const engineOptions = { metrics: true }
  const backpressure = backpressureFromEnv(env)
  if (backpressure) engineOptions.backpressure = backpressure
  return { auth, engineOptions }
}

module.exports = { optionsFromEnv, backpressureFromEnv, durationMs }
