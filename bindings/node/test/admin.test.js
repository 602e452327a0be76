'use strict'
// The typed admin surface over the control plane, run twice: once against the core's
// built-in document store and once against the JS reference `MemoryStore` plugged in as a
// host adapter. Both runs must give identical answers (versions, audit ids, hashes, errors).
const test = require('node:test')
const assert = require('node:assert/strict')
const recsys = require('..')
const {
  Engine,
  MemoryStore,
  DocumentStoreError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  VersionMismatchError,
  StoreError,
  AdapterError,
} = recsys

const admin = { subject: 'alice', tenant: 'demo', roles: ['admin'] }
const ctx = (n, principal = admin) => ({
  now: `2026-03-01T10:00:${String(n).padStart(2, '0')}Z`,
  requestId: `req-${n}`,
  principal,
})
const DOC1 = '{"weights":{"pop":0.7,"cooc":0.3}}'
const DOC2 = '{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity","flags":{"beta":true}}'
const DOC3 = '{"weights":{"pop":0.5}}'
const V1 = 'dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73'
const V2 = '6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97'
const RULES = '[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],"surface":"home","priority":10}]'

function outcome(fn) {
  try {
    return { ok: fn() }
  } catch (e) {
    if (!(e instanceof recsys.RecsysError)) throw e
    return { error: { class: e.constructor.name, code: e.code, status: e.status, message: e.message, details: e.details } }
  }
}

// The control-plane scenario; returns a transcript of every answer and error.
function scenario(engine) {
  const t = {}
  let n = 0
  const step = (name, fn) => {
    t[name] = outcome(fn)
    n++
    return t[name]
  }
  step('get missing', () => engine.getConfig('demo', ctx(n)))
  step('put v1', () => engine.putConfig('demo', DOC1, ctx(n), { comment: 'first' }))
  step('get v1', () => engine.getConfig('demo', ctx(n)))
  step('put v2 if-match quoted', () => engine.putConfig('demo', DOC2, ctx(n), { ifMatch: `"${V1}"` }))
  step('put stale if-match', () => engine.putConfig('demo', DOC3, ctx(n), { ifMatch: V1 }))
  step('put weak if-match', () => engine.putConfig('demo', DOC3, ctx(n), { ifMatch: `W/"${V1}"` }))
  step('put no-op', () => engine.putConfig('demo', DOC2, ctx(n), { ifMatch: V2 }))
  step('put invalid', () => engine.putConfig('demo', '{"weights":{"pop":-1}}', ctx(n)))
  step('versions', () => engine.listVersions('demo', 'config', ctx(n)))
  step('rollback previous', () => engine.rollback('demo', 'config', ctx(n), { comment: 'undo' }))
  step('rollback to v2', () => engine.rollback('demo', 'config', ctx(n), { to: `"${V2}"`, ifMatch: V1 }))
  step('rollback unknown', () => engine.rollback('demo', 'config', ctx(n), { to: 'ab'.repeat(32) }))
  step('put rules', () => engine.putRules('demo', RULES, ctx(n)))
  step('get rules', () => engine.getRules('demo', ctx(n)))
  step('invalidate', () => engine.invalidate('demo', ['config', 'rules'], ctx(n)))
  step('invalidate bad target', () => engine.invalidate('demo', ['nope'], ctx(n)))
  const other = { subject: 'mallory', tenant: 'other', roles: ['admin'] }
  step('cross-tenant get', () => engine.getConfig('demo', ctx(n, other)))
  step('cross-tenant put', () => engine.putConfig('demo', DOC3, ctx(n, other)))
  step('cross-tenant audit', () => engine.audit('demo', ctx(n, other)))
  const viewer = { subject: 'val', tenant: 'demo', roles: ['viewer'] }
  step('viewer get', () => engine.getConfig('demo', ctx(n, viewer)))
  step('viewer put', () => engine.putConfig('demo', DOC3, ctx(n, viewer)))
  step('viewer audit (redacted)', () => engine.audit('demo', ctx(n, viewer), { limit: 1 }))
  step('other tenant put', () => engine.putConfig('other', DOC3, ctx(n, other)))
  // Page through the audit log two at a time.
  const pages = []
  let cursor
  do {
    const page = engine.audit('demo', ctx(n), { limit: 2, cursor })
    pages.push(page)
    cursor = page.next_cursor
  } while (cursor && pages.length < 50)
  t['audit pages'] = { ok: pages }
  step('audit bad cursor', () => engine.audit('demo', ctx(n), { cursor: 'garbage' }))
  step('audit bad limit', () => engine.audit('demo', ctx(n), { limit: 0 }))
  step('verify', () => engine.verifyAudit('demo', ctx(n)))
  step('verify other', () => engine.verifyAudit('other', ctx(n, other)))
  return t
}

test('control plane: the JS MemoryStore answers exactly like the native store', () => {
  const native = scenario(new Engine())
  const js = scenario(new Engine(null, { store: new MemoryStore() }))
  assert.deepEqual(js, native)
})

test('control plane scenario: the answers themselves', () => {
  for (const engine of [new Engine(), new Engine(null, { store: new MemoryStore() })]) {
    const t = scenario(engine)
    assert.equal(t['get missing'].error.class, 'NotFoundError')
    assert.equal(t['get missing'].error.code, 'RECSYS_CONFIG_NOT_FOUND')
    assert.equal(t['put v1'].ok.config_version, V1)
    assert.equal(t['put v1'].ok.changed, true)
    assert.deepEqual(t['get v1'].ok, { tenant_id: 'demo', config_version: V1, config: JSON.parse(DOC1) })
    assert.equal(t['put v2 if-match quoted'].ok.config_version, V2)
    for (const k of ['put stale if-match', 'put weak if-match']) {
      assert.equal(t[k].error.class, 'VersionMismatchError', k)
      assert.equal(t[k].error.code, 'RECSYS_VERSION_MISMATCH')
      assert.equal(t[k].error.status, 409)
    }
    assert.equal(t['put no-op'].ok.changed, false)
    assert.equal(t['put no-op'].ok.config_version, V2)
    assert.equal(t['put invalid'].error.code, 'RECSYS_INVALID_CONFIG')
    assert.equal(t['put invalid'].error.class, 'ValidationError')
    const versions = t.versions.ok
    assert.deepEqual(versions.versions.map((v) => [v.version, v.current]), [[V1, false], [V2, true]])
    assert.equal(versions.versions[0].comment, 'first')
    assert.equal(versions.previous_version, V1)
    assert.equal(t['rollback previous'].ok.config_version, V1)
    assert.equal(t['rollback previous'].ok.from_version, V2)
    assert.equal(t['rollback to v2'].ok.config_version, V2)
    assert.equal(t['rollback unknown'].error.code, 'RECSYS_VERSION_NOT_FOUND')
    assert.equal(t['put rules'].ok.rules_version, 'db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3')
    assert.equal(t['get rules'].ok.rules_version, t['put rules'].ok.rules_version)
    assert.equal(t.invalidate.ok.status, 'applied')
    assert.equal(t['invalidate bad target'].error.code, 'RECSYS_INVALID_TARGETS')
    for (const k of ['cross-tenant get', 'cross-tenant put', 'cross-tenant audit', 'viewer put']) {
      assert.equal(t[k].error.class, 'ForbiddenError', k)
      assert.equal(t[k].error.status, 403)
    }
    assert.equal(t['viewer get'].ok.config_version, V2)
    assert.equal(t['viewer audit (redacted)'].ok.entries[0].after_state, undefined)
    // Audit: every write once, newest first, no entry lost or repeated across pages.
    const entries = t['audit pages'].ok.flatMap((p) => p.entries)
    const actions = entries.map((e) => e.action)
    assert.deepEqual(actions, [
      'cache.invalidate',
      'rules.update',
      'config.rollback',
      'config.rollback',
      'config.update',
      'config.update',
    ])
    assert.equal(new Set(entries.map((e) => e.id)).size, entries.length)
    assert.ok(t['audit pages'].ok.length >= 3)
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i - 1].prev_hash, entries[i].hash)
    assert.equal(entries[entries.length - 1].prev_hash, null)
    assert.equal(t['audit bad cursor'].error.code, 'RECSYS_INVALID_CURSOR')
    assert.equal(t['audit bad limit'].error.code, 'RECSYS_INVALID_REQUEST')
    assert.equal(t.verify.ok.ok, true)
    assert.equal(t.verify.ok.entries, 6)
    assert.equal(t.verify.ok.head_hash, entries[0].hash)
    assert.equal(t['verify other'].ok.entries, 1)
  }
})

test('admin writes reach serving: put config recompiles the tenant', () => {
  const engine = new Engine(null, { store: new MemoryStore() })
  engine.loadSnapshot({ tenant: 'demo', surface: 'home', signals: { popularity: [{ item_id: 'a', score: 1 }] } })
  const answer = engine.putConfig('demo', DOC1, ctx(1))
  assert.equal(answer.recompiled, 1)
  const rec = engine.recommend({ surface: 'home', k: 1, user: { user_id: 'u' } }, { now: '2026-03-01T10:00:00Z', tenant: 'demo' })
  assert.equal(rec.meta.config_version, V1)
})

// A store that delegates to MemoryStore and lets tests break it.
function brokenStore(overrides) {
  const inner = new MemoryStore()
  const store = {}
  for (const m of ['current', 'getVersion', 'putVersion', 'listVersions', 'compareAndSwap', 'appendAudit', 'listAudit', 'auditChain', 'revision', 'changesSince']) {
    store[m] = (...args) => (overrides[m] ? overrides[m](inner, ...args) : inner[m](...args))
  }
  return store
}

test('verifyAudit detects an entry tampered with in the JS store', () => {
  const store = brokenStore({
    auditChain: (inner, tenant, afterId, limit) =>
      inner.auditChain(tenant, afterId, limit).map((e) =>
        e.id === 2 ? { ...e, json: e.json.replace('"comment"', '"c0mment"').replace('alice', 'eve') } : e,
      ),
  })
  const engine = new Engine(null, { store })
  engine.putConfig('demo', DOC1, ctx(1))
  engine.putConfig('demo', DOC2, ctx(2))
  engine.putConfig('demo', DOC3, ctx(3))
  const v = engine.verifyAudit('demo', ctx(4))
  assert.equal(v.ok, false)
  assert.equal(v.tampered_at, 2)
  assert.equal(v.reason, 'hash_mismatch')
})

test('a JS store keeps a keyed audit chain; writes return the head verifyAudit checks', () => {
  const keys = { active: 'k1', keys: { k1: 'a-host-secret-of-32-bytes-000000' } }
  let dropNewest = false
  const store = brokenStore({
    auditChain: (inner, tenant, afterId, limit) =>
      inner.auditChain(tenant, afterId, limit).filter((e) => !(dropNewest && e.id === 2)),
  })
  const engine = new Engine({ audit_keys: keys }, { store })
  engine.putConfig('demo', DOC1, ctx(1))
  const put = engine.putConfig('demo', DOC2, ctx(2))
  assert.match(put.audit_head.hash, /^hmac-sha256:k1:[0-9a-f]{64}$/)
  assert.equal(put.audit_head.id, 2)
  assert.equal(engine.verifyAudit('demo', ctx(3), { head: put.audit_head }).ok, true)
  // Dropping the newest entry still links up, but the head is gone.
  dropNewest = true
  const v = engine.verifyAudit('demo', ctx(4), { head: put.audit_head })
  assert.equal(v.ok, false)
  assert.equal(v.reason, 'truncated')
})

test('store failures become typed StoreErrors with stable codes', () => {
  const cases = [
    [() => { throw new DocumentStoreError('unavailable', 'db down') }, 'RECSYS_STORE_UNAVAILABLE', 503, /db down/],
    [() => { throw new DocumentStoreError('corrupt', 'bad row') }, 'RECSYS_STORE_CORRUPT', 500, /bad row/],
    [() => { throw new TypeError('oops') }, 'RECSYS_STORE_ERROR', 500, /TypeError: oops/],
    [() => { throw 'a string' }, 'RECSYS_STORE_ERROR', 500, /a string/],
    // A wrong-shaped answer is corrupt, decoded by the core's record codec (recsys_core::host).
    [() => ({ etag: 42 }), 'RECSYS_STORE_CORRUPT', 500, /current returned a malformed pointer \("etag" is not a string\)/],
    [() => Promise.resolve(null), 'RECSYS_STORE_ERROR', 500, /returned a promise/],
  ]
  for (const [current, code, status, message] of cases) {
    const engine = new Engine(null, { store: brokenStore({ current }) })
    assert.throws(
      () => engine.getConfig('demo', ctx(1)),
      (e) => {
        assert.ok(e instanceof StoreError, `${code}: ${e}`)
        assert.equal(e.code, code)
        assert.equal(e.status, status)
        assert.match(e.message, message)
        return true
      },
    )
  }
  // A conflict reported by the store on the pointer swap is a lost race: retried, then reported.
  let attempts = 0
  const engine = new Engine(null, {
    store: brokenStore({
      compareAndSwap: () => {
        attempts++
        throw new DocumentStoreError('conflict', 'serialization failure')
      },
    }),
  })
  assert.throws(() => engine.putConfig('demo', DOC1, ctx(1)), (e) => e.code === 'RECSYS_WRITE_CONFLICT' && e.status === 409)
  assert.ok(attempts > 1, `${attempts} attempt(s)`)
})

test('adapter objects are checked when the engine is built', () => {
  assert.throws(() => new Engine(null, { store: {} }), (e) => e instanceof ValidationError && e.code === 'RECSYS_INVALID_ADAPTER')
  assert.throws(() => new Engine(null, { metrics: { counter() {} } }), (e) => e.code === 'RECSYS_INVALID_ADAPTER')
  assert.throws(() => new Engine(null, { exposure: { emit() {} } }), (e) => e.code === 'RECSYS_INVALID_ADAPTER')
  assert.throws(() => new Engine(null, { exposureSink: 5 }), (e) => e.code === 'RECSYS_INVALID_ADAPTER')
})

test('an adapter calling back into the engine gets RECSYS_ADAPTER_REENTRANT', () => {
  let inner
  let engine
  const store = brokenStore({
    current: (m, tenant, kind) => {
      try {
        engine.liveness()
      } catch (e) {
        inner = e
        throw e
      }
      return m.current(tenant, kind)
    },
  })
  engine = new Engine(null, { store })
  assert.throws(() => engine.getConfig('demo', ctx(1)), StoreError)
  assert.ok(inner instanceof AdapterError)
  assert.equal(inner.code, 'RECSYS_ADAPTER_REENTRANT')
  // The engine still works afterwards.
  assert.deepEqual(engine.liveness(), { status: 'ok' })
})

test('async admin calls: refused with a JS store, served with the native store', async () => {
  const input = JSON.stringify({ request: { tenant: 'demo', document: DOC1 }, ctx: { now: '2026-03-01T10:00:00Z', principal: admin } })
  const js = new Engine(null, { store: new MemoryStore() })
  await assert.rejects(js.callAsync('admin.put_config', input), (e) => e instanceof AdapterError && e.code === 'RECSYS_ADAPTER_SYNC_ONLY')
  // Non-admin async calls still work on that engine.
  assert.equal(JSON.parse(await js.callAsync('etag', DOC1)).etag, V1)
  const nat = new Engine()
  assert.equal(JSON.parse(await nat.callAsync('admin.put_config', input)).config_version, V1)
  assert.equal(nat.getConfig('demo', ctx(1)).config_version, V1)
})

test('admin ctx is required', () => {
  assert.throws(() => new Engine().getConfig('demo'), (e) => e instanceof ValidationError && e.code === 'RECSYS_INVALID_REQUEST')
  assert.throws(() => new Engine().getConfig('demo', { principal: admin }), (e) => e.code === 'RECSYS_INVALID_REQUEST')
})

test('error classes for the new codes', () => {
  assert.equal(recsys.errorClassFor('RECSYS_STORE_UNAVAILABLE'), StoreError)
  assert.equal(recsys.errorClassFor('RECSYS_ADAPTER_SYNC_ONLY'), AdapterError)
  assert.equal(recsys.errorClassFor('RECSYS_VERSION_NOT_FOUND'), NotFoundError)
  assert.ok(new DocumentStoreError('bogus', 'x').kind === 'other')
  void ForbiddenError
  void VersionMismatchError
})

// Artifact rollback through the control plane: pin a surface to a manifest, load what it
// names, unpin, release held publishes; each audited. Same answers on both stores.
async function artifactScenario(engine) {
  const fs = require('node:fs')
  const path = require('node:path')
  const data = path.join(__dirname, '..', '..', '..', 'examples', 'data')
  const now = '2026-11-23T00:00:00Z'
  const ops = { now, requestId: 'pin-1', principal: { subject: 'ops', tenant: 'demo', roles: ['operator'] } }
  const t = {}
  engine.loaderTrack('demo', 'home')
  const manifest = fs.readFileSync(path.join(data, 'manifest.json'), 'utf8')
  t.viewerPin = outcome(() => engine.pinArtifacts('demo', 'home', { ...ops, principal: { ...ops.principal, roles: ['viewer'] } }, { manifest }))
  t.otherPin = outcome(() => engine.pinArtifacts('demo', 'home', { ...ops, principal: { ...ops.principal, tenant: 'x' } }, { manifest }))
  t.pin = outcome(() => engine.pinArtifacts('demo', 'home', ops, { manifest }))
  const results = {}
  for (const uri of t.pin.ok.fetch) {
    results[uri] = { found: fs.readFileSync(path.join(data, 'objectstore', uri.replace('s3://recsys-artifacts/', '')), 'utf8') }
  }
  t.apply = await engine.applyArtifactsAsync('demo', 'home', now, results)
  t.recommend = engine.recommend({ surface: 'home', k: 3, user: { user_id: 'u_fitness' } }, { now, tenant: 'demo', request_id: 'r' })
  t.unpin = outcome(() => engine.unpinArtifacts('demo', 'home', ops))
  t.release = outcome(() => engine.releaseHeld('demo', 'home', ops))
  t.audit = engine.audit('demo', ops)
  t.verify = engine.verifyAudit('demo', ops)
  return t
}

test('artifact admin (pin, unpin, release held): identical on both stores', async () => {
  const options = { manifest_template: 's3://recsys-artifacts/registry/current/{tenant}/{surface}/manifest.json' }
  const native = await artifactScenario(new Engine(options))
  const js = await artifactScenario(new Engine(options, { store: new MemoryStore() }))
  assert.deepEqual(js, native)
  assert.equal(native.viewerPin.error.code, 'RECSYS_FORBIDDEN')
  assert.equal(native.otherPin.error.code, 'RECSYS_FORBIDDEN')
  assert.equal(native.pin.ok.fetch.length, 5)
  assert.equal(native.pin.ok.audit_id, 1)
  assert.equal(native.recommend.items.length, 3)
  assert.equal(native.unpin.ok.was_pinned, true)
  assert.equal(native.release.ok.outcome, 'nothing_held')
  assert.deepEqual(native.audit.entries.map((e) => e.action), ['artifacts.release', 'artifacts.unpin', 'artifacts.pin'])
  const pinned = native.audit.entries[2]
  assert.equal(pinned.before_state.pinned, false)
  assert.equal(pinned.after_state.pinned, true)
  assert.equal(native.verify.ok, true)
})

test('sealing: the core computes the chain from what the store passes', () => {
  // A store that seals with id 0 is refused (ids start at 1), nothing is written.
  const zero = new Engine(null, { store: brokenStore({ compareAndSwap: (m, tenant, swap, draft) => draft.seal(0, null) }) })
  assert.throws(
    () => zero.putConfig('demo', DOC1, ctx(1)),
    (e) => e instanceof StoreError && e.code === 'RECSYS_STORE_ERROR' && /ids start at 1/.test(e.message),
  )
  // A store that forgets the previous hash breaks the chain, and verifyAudit says where.
  const forgetful = brokenStore({
    compareAndSwap: (m, tenant, swap, draft) => {
      const wrapped = { tenant: draft.tenant, seal: (id) => draft.seal(id, null) }
      return m.compareAndSwap(tenant, swap, wrapped)
    },
  })
  const engine = new Engine(null, { store: forgetful })
  engine.putConfig('demo', DOC1, ctx(1))
  engine.putConfig('demo', DOC2, ctx(2))
  const v = engine.verifyAudit('demo', ctx(3))
  assert.equal(v.ok, false)
  assert.equal(v.reason, 'broken_link')
  assert.equal(v.tampered_at, 2)
})

test('a misbehaving bridge (below recsys.js) still gives typed errors, never a crash', () => {
  const native = require('../index.js')
  const input = JSON.stringify({ request: { tenant: 'demo' }, ctx: { now: '2026-03-01T10:00:00Z', principal: admin } })
  const cases = [
    [() => { throw new RangeError('boom') }, /adapter threw: RangeError: boom/],
    [() => 42, /non-string/],
    [() => '{"ok":', /malformed json/],
    [() => '[]', /not an object/],
  ]
  for (const [bridge, message] of cases) {
    const engine = new native.Engine(undefined, bridge, ['store'])
    assert.throws(
      () => engine.call('admin.get_config', input),
      (e) => {
        const err = recsys.errorFromJson(e.message)
        assert.ok(err instanceof StoreError, e.message)
        assert.match(err.message, message)
        return true
      },
    )
    // No exception is left pending: the next call on the same thread works.
    assert.equal(JSON.parse(engine.call('etag', DOC1)).etag, V1)
  }
  assert.throws(() => new native.Engine(undefined, undefined, ['store']), /RECSYS_INVALID_ADAPTER/)
  assert.throws(() => new native.Engine(undefined, () => '', ['disk']), /RECSYS_INVALID_ADAPTER/)
})
