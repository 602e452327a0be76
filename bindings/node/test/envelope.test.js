'use strict'
// The {"request","ctx"} input of the serving operations is built by the core
// (recsys_core::host::serving_input), sync and async: the same bytes as a hand-built input,
// and a request text cannot smuggle in its own ctx.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Engine, JsonError } = require('..')

const DOCS = '{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":3},{"item_id":"b","score":2}]}}'
const REQUEST = '{"surface":"home","k":2,"user":{"user_id":"u"},"weights":{"pop":0.50}}'
const CTX = '{"now":"2026-01-01T00:00:00Z","tenant":"demo","request_id":"r1"}'

test('the core-built input answers exactly like a hand-built one', async () => {
  const engine = new Engine()
  engine.loadSnapshotJson(DOCS)
  for (const op of ['recommend', 'validate']) {
    const byHand = engine.call(op, `{"request":${REQUEST},"ctx":${CTX}}`)
    assert.equal(engine[`${op}Json`](REQUEST, CTX), byHand)
    assert.equal(await engine[`${op}JsonAsync`](REQUEST, CTX), byHand)
    assert.deepEqual(engine[op](JSON.parse(REQUEST), JSON.parse(CTX)), JSON.parse(byHand))
  }
  const rec = engine.recommend(REQUEST, CTX)
  assert.deepEqual(rec.items.map((i) => i.item_id), ['a', 'b'])
  assert.equal(rec.meta.request_id, 'r1')
})

test('a request text cannot smuggle in its own ctx', async () => {
  const engine = new Engine()
  engine.loadSnapshotJson(DOCS)
  const smuggled = '{"surface":"home"},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"evil"}'
  const isTrailing = (e) => {
    assert.ok(e instanceof JsonError, String(e))
    assert.equal(e.code, 'RECSYS_JSON_TRAILING_DATA')
    assert.match(e.message, /^request: invalid json/)
    return true
  }
  assert.throws(() => engine.recommendJson(smuggled, CTX), isTrailing)
  await assert.rejects(engine.recommendJsonAsync(smuggled, CTX), isTrailing)
  assert.throws(
    () => engine.validate({ surface: 'home' }, '{"now":'),
    (e) => e instanceof JsonError && e.problems[0].path.startsWith('$.ctx'),
  )
})
