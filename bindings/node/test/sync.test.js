'use strict'
// Fleet reconcile through the binding: two engines on one JS MemoryStore converge with
// `sync`; the store's revisions and change feed; a late notification never moves serving back.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Engine, MemoryStore, CHANGE_ACTIONS } = require('..')

const NOW = '2026-03-01T10:00:00Z'
const ADMIN = { now: NOW, requestId: 'r', principal: { subject: 'ops', tenant: 't1', roles: ['admin'] } }

function engine(store) {
  const e = new Engine({}, { store })
  e.loadSnapshot({ tenant: 't1', surface: 'home', signals: { popularity: [{ item_id: 'a', score: 1 }] } })
  return e
}

const served = (e) => e.syncStatus(NOW).tenants.find((t) => t.tenant === 't1').surfaces[0].config_version

test('two engines on one JS store converge and never move back', () => {
  const store = new MemoryStore()
  const a = engine(store)
  const b = engine(store)
  const v1 = a.putConfig('t1', '{"weights":{"pop":0.5}}', ADMIN).config_version
  assert.notEqual(served(b), v1)
  const first = b.sync(NOW, { tenant: 't1' }).tenants[0]
  assert.equal(first.installed.config.version, v1)
  assert.equal(served(b), v1)
  const v2 = a.putConfig('t1', '{"weights":{"pop":0.6}}', ADMIN).config_version
  const second = b.sync(NOW, { tenant: 't1', kinds: ['config'], revision: store.revision('t1') }).tenants[0]
  assert.equal(second.installed.config.version, v2)
  assert.ok(second.revision > first.revision)
  const late = b.sync(NOW, { tenant: 't1', kinds: ['config'], revision: first.revision }).tenants[0]
  assert.equal(late.up_to_date, true)
  assert.equal(served(b), v2)
  const again = b.sync(NOW).tenants[0]
  assert.deepEqual(again.installed, {})
  assert.equal(again.recompiled, 0)
})

test('the JS MemoryStore keeps a change feed with revisions', () => {
  const store = new MemoryStore()
  const e = engine(store)
  e.putConfig('t1', '{"weights":{"pop":0.5}}', ADMIN)
  e.putRules('t1', '[{"action":"block","item_ids":["x"]}]', ADMIN)
  e.invalidate('t1', ['popularity'], ADMIN)
  const changes = store.changesSince('t1', 0, 100)
  assert.deepEqual(changes.map((c) => c.action), ['config.update', 'rules.update', 'cache.invalidate'])
  assert.ok(changes.every((c) => CHANGE_ACTIONS.includes(c.action)))
  assert.equal(store.revision('t1'), changes[2].id)
  assert.equal(store.current('t1', 'rules').revision, changes[1].id)
  assert.deepEqual(store.changesSince('t1', changes[0].id, 1), [changes[1]])
  assert.deepEqual(store.changesSince('nobody', 0, 10), [])
  assert.equal(store.revision('nobody'), 0)
})

test('a store answering a revision that is not a number is a typed store error', () => {
  const store = new MemoryStore()
  store.revision = () => 'seven'
  const e = engine(store)
  assert.throws(() => e.sync(NOW, { tenant: 't1' }), (err) => err.code.startsWith('RECSYS_STORE') && /revision/.test(err.message))
})
