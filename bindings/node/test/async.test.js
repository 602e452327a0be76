'use strict'
// The async variants run on libuv's thread pool and reject with typed errors.
const test = require('node:test')
const assert = require('node:assert/strict')
const recsys = require('..')
const { Engine, RecsysError, UnknownOperationError, JsonError } = recsys

function bigDocument(n) {
  const parts = []
  for (let i = 0; i < n; i++) parts.push(`{"id":"item_${i}","w":${i}.50e-1}`)
  return '[' + parts.join(',') + ']'
}

test('callAsync resolves to the same answer as call', async () => {
  const engine = new Engine()
  const doc = '{"weights":{"pop":0.7,"cooc":0.3}}'
  assert.equal(await engine.callAsync('etag', doc), engine.call('etag', doc))
  assert.deepEqual(await engine.callObjectAsync('canonicalize', { a: [1, 2] }), engine.callObject('canonicalize', { a: [1, 2] }))
})

test('many concurrent async calls on one engine', async () => {
  const engine = new Engine()
  const docs = Array.from({ length: 16 }, (_, k) => bigDocument(500 + 37 * k))
  const expected = docs.map((d) => recsys.callStatic('etag', d))
  const answers = await Promise.all(docs.map((d) => engine.callAsync('etag', d)))
  assert.deepEqual(answers, expected)
})

test('the event loop keeps running while an async call computes', async () => {
  const engine = new Engine()
  const doc = bigDocument(25000) // under the 1 MiB document limit
  let ticks = 0
  let done = false
  const pending = engine.callAsync('canonicalize', doc).then((a) => {
    done = true
    return a
  })
  // setImmediate callbacks only run while the main thread is free. Were the work done on the
  // main thread, the answer would be ready after the first turn; off the loop, many turns
  // run while it computes. No timing is measured.
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve))
    ticks++
  }
  assert.ok(ticks >= 2, `only ${ticks} event-loop turn(s) ran during the call`)
  assert.equal(JSON.parse(await pending).etag, recsys.etag(doc))
})

test('async errors are typed', async () => {
  const engine = new Engine()
  await assert.rejects(engine.callAsync('frobnicate', '{}'), UnknownOperationError)
  await assert.rejects(engine.callAsync('etag', '{'), JsonError)
  await assert.rejects(engine.loadSnapshotAsync('{'), RecsysError)
  await assert.rejects(engine.recommendAsync('{', '{}'), RecsysError)
  await assert.rejects(engine.loadSnapshotJsonAsync('{'), RecsysError)
  await assert.rejects(engine.validateAsync({}, '{'), RecsysError)
  await assert.rejects(engine.similarJsonAsync('[', ']'), RecsysError)
})

test('an aborted signal rejects the async call', async () => {
  const engine = new Engine()
  const controller = new AbortController()
  const pending = engine.callAsync('canonicalize', bigDocument(20000), controller.signal)
  controller.abort()
  // Either the abort wins or the call had already finished; both settle cleanly.
  await pending.then(
    (answer) => assert.equal(typeof answer, 'string'),
    (err) => assert.ok(err instanceof Error),
  )
})

test('the backpressure option gates concurrent recommendations: answered or 503 RECSYS_OVERLOADED', async () => {
  assert.throws(() => new recsys.Engine({ backpressure: { max_inflight: 1 } }), (e) => e.code === 'RECSYS_INVALID_OPTIONS' && /max_inflight/.test(e.message))
  const engine = new recsys.Engine({ backpressure: { max_in_flight: 1, max_queue: 0, queue_timeout_ms: 0, retry_after_ms: 4000 } })
  // Calls long enough (an allow-list of 5000 ids, a few ms each) that the single slot is
  // still held when the scheduler runs another pool thread, even on a machine so busy that
  // the pool's threads rarely run at once (2-item calls of a few µs then never overlapped).
  const ids = Array.from({ length: 5000 }, (_, i) => `item-${i}`)
  const popularity = ids.map((id, i) => ({ item_id: id, score: 5000 - i }))
  engine.loadSnapshotJson(JSON.stringify({ tenant: 'demo', surface: 'home', signals: { popularity } }))
  const input = JSON.stringify({
    request: { surface: 'home', k: 200, user: { user_id: 'u' }, candidates: { include_ids: ids } },
    ctx: { now: '2026-01-01T00:00:00Z', tenant: 'demo' }
  })
  let ok = 0
  let refused = 0
  // Batches of concurrent calls on libuv's pool until the single slot was found taken
  // (bounded: 200 batches; a refusal usually comes in the first one).
  for (let batch = 0; batch < 200 && refused === 0; batch++) {
    const results = await Promise.allSettled(Array.from({ length: 32 }, () => engine.callAsync('recommend', input)))
    for (const r of results) {
      if (r.status === 'fulfilled') {
        ok++
        continue
      }
      assert.ok(r.reason instanceof recsys.OverloadedError, String(r.reason))
      assert.equal(r.reason.status, 503)
      assert.equal(r.reason.details.retry_after, 4)
      refused++
    }
  }
  assert.ok(ok > 0 && refused > 0, `ok ${ok}, refused ${refused}`)
})
