'use strict'
// Releases on the PostgreSQL store: compareAndSwapAll moves (or guards) both pointers and
// appends one entry in one transaction; a release with a stale If-Match (another process
// released first) stores nothing; rollback is one call and one entry.
const test = require('node:test')
const assert = require('node:assert/strict')
const recsys = require('../../../bindings/node/recsys.js')
const { PgStore, migrate } = require('../pg/store.js')
const { TempPostgres } = require('../pg/temp.js')

const CTX = { now: '2026-11-23T12:00:00Z', request_id: 'r', principal: { subject: 'ops', tenant: 'demo', roles: ['admin'] } }

let pg
let dsn
test.before(async () => {
  pg = new TempPostgres(54373)
  dsn = pg.start()
  await migrate(dsn)
})
test.after(() => pg && pg.stop())

function admin(engine, op, request) {
  return JSON.parse(engine.call(op, JSON.stringify({ request, ctx: CTX })))
}

function release(engine, pop, block, more = {}) {
  const rules = [{ action: 'block', item_ids: [block] }]
  return admin(engine, 'admin.release', { tenant: 'demo', config: { weights: { pop } }, rules, ...more })
}

test('releases move both pointers in one entry, race with one winner and roll back in one call', () => {
  const sa = new PgStore(dsn)
  const sb = new PgStore(dsn)
  try {
    const a = new recsys.Engine({}, { store: sa })
    const b = new recsys.Engine({}, { store: sb })
    const one = release(a, 0.2, 'x')
    const cfg = sb.current('demo', 'config')
    const rules = sb.current('demo', 'rules')
    assert.equal(cfg.etag, one.config_version)
    assert.equal(rules.etag, one.rules_version)
    assert.equal(cfg.revision, one.audit_id)
    assert.equal(rules.revision, one.audit_id)

    // Two processes read the same release; the first to publish wins, the other is refused
    // and nothing of it is stored, also when it would only change the config.
    const seen = admin(b, 'admin.get_release', { tenant: 'demo' }).release_id
    const two = release(a, 0.3, 'y', { if_match: seen })
    assert.throws(
      () => admin(b, 'admin.release', { tenant: 'demo', config: { weights: { pop: 0.9 } }, if_match: seen }),
      (err) => err.code === 'RECSYS_VERSION_MISMATCH',
    )
    assert.equal(sa.revision('demo'), two.audit_id)
    // A release that keeps the rules guards them: re-stamped, not moved.
    const three = admin(b, 'admin.release', { tenant: 'demo', config: { weights: { pop: 0.4 } } })
    const kept = sa.current('demo', 'rules')
    assert.equal(kept.etag, two.rules_version)
    assert.equal(kept.revision, three.audit_id)

    const back = admin(a, 'admin.rollback_release', { tenant: 'demo', to: one.release_id })
    assert.equal(back.release_id, one.release_id)
    assert.equal(sb.current('demo', 'config').etag, one.config_version)
    assert.equal(sb.current('demo', 'rules').etag, one.rules_version)
    const actions = sa.changesSince('demo', 0, 10).map((c) => c.action)
    assert.deepEqual(actions, ['release.publish', 'release.publish', 'release.publish', 'release.rollback'])
    assert.equal(admin(a, 'admin.verify_audit', { tenant: 'demo' }).ok, true)
  } finally {
    sa.close()
    sb.close()
  }
})
