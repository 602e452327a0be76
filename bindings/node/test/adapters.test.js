'use strict'
// Metrics and exposure-sink adapters written in JS: called synchronously during sync engine
// calls, delivered when the promise settles for async calls, never on a worker thread.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Engine, MemoryStore } = require('..')

const DATA = path.join(__dirname, '..', '..', '..', 'examples', 'data')

// The example tenant as load_snapshot documents, built as text so literals stay exact.
function exampleDocuments() {
  const read = (p) => fs.readFileSync(path.join(DATA, p), 'utf8')
  const manifest = JSON.parse(read('manifest.json'))
  const artifacts = Object.values(manifest.current)
    .map((uri) => `${JSON.stringify(uri)}:${JSON.stringify(read(path.join('objectstore', uri.replace('s3://recsys-artifacts/', ''))))}`)
    .join(',')
  return `{"tenant":"demo","surface":"home","config":${read('config.json')},"rules":${read('rules.json')},"manifest":${read('manifest.json')},"artifacts":{${artifacts}}}`
}

const OPTIONS = { metrics: true, exposure: { salt: 'test-salt', key_id: 'k1' } }
const REQUEST = '{"surface":"home","k":4,"user":{"user_id":"u_fitness"}}'
const ctx = (id) => JSON.stringify({ now: '2026-11-23T00:00:00Z', request_id: id, tenant: 'demo' })

function recorder() {
  const calls = []
  const metrics = {
    counter: (name, labels, delta) => calls.push(['counter', name, labels, delta]),
    histogram: (name, labels, value) => calls.push(['histogram', name, labels, value]),
    gauge: (name, labels, value) => calls.push(['gauge', name, labels, value]),
  }
  const events = []
  const exposureSink = { emit: (event) => events.push(event) }
  return { calls, events, metrics, exposureSink }
}

test('metrics adapter sees what the built-in registry counts (sync calls)', () => {
  const r = recorder()
  const engine = new Engine(OPTIONS, { metrics: r.metrics })
  engine.loadSnapshotJson(exampleDocuments())
  engine.recommendJson(REQUEST, ctx('r1'))
  assert.throws(() => engine.recommendJson('{"k":4}', ctx('r2')))
  const requests = r.calls.filter((c) => c[0] === 'counter' && c[1] === 'recsys_recommendation_requests_total')
  assert.equal(requests.length, 2)
  assert.deepEqual(requests.map((c) => c[2].outcome).sort(), ['success', 'validation_failed'])
  // Every counter the adapter got is in the engine's own Prometheus text with the same total.
  const prom = engine.callObject('metrics', {}).prometheus
  const totals = new Map()
  for (const [kind, name, labels, delta] of r.calls) {
    if (kind !== 'counter') continue
    const pairs = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`)
    // Prometheus text writes a series without labels as a bare name.
    const key = pairs.length ? `${name}{${pairs.join(',')}}` : name
    totals.set(key, (totals.get(key) ?? 0) + delta)
  }
  assert.ok(totals.size >= 3)
  for (const [key, total] of totals) assert.ok(prom.includes(`${key} ${total}\n`), `${key} ${total} not in:\n${prom}`)
  assert.ok(r.calls.some((c) => c[0] === 'histogram'))
})

test('exposure sink receives the events the in-engine queue would hold', () => {
  const r = recorder()
  const withSink = new Engine(OPTIONS, { exposureSink: r.exposureSink })
  const queued = new Engine(OPTIONS)
  for (const e of [withSink, queued]) {
    e.loadSnapshotJson(exampleDocuments())
    e.recommendJson(REQUEST, ctx('r1'))
    e.recommendJson(REQUEST, ctx('r2'))
  }
  const drained = queued.callObject('exposure_drain', {})
  assert.equal(drained.events.length, 2)
  assert.deepEqual(r.events, drained.events)
  // Nothing was queued on the engine with a sink.
  assert.deepEqual(withSink.callObject('exposure_drain', {}).events, [])
  // Subjects are hashed with the salt, never raw.
  assert.ok(!JSON.stringify(r.events).includes('u_fitness'))
})

test('a failing exposure sink is counted, not thrown', () => {
  const engine = new Engine(OPTIONS, { exposureSink: { emit: () => { throw new Error('queue full') } } })
  engine.loadSnapshotJson(exampleDocuments())
  const answer = JSON.parse(engine.recommendJson(REQUEST, ctx('r1')))
  assert.equal(answer.items.length, 4)
  const prom = engine.callObject('metrics', {}).prometheus
  assert.match(prom, /recsys_exposure_events_total\{format="service_v1",result="error"\} 1\n/)
})

test('async calls deliver adapter calls on the JS thread when the promise settles', async () => {
  const sync = recorder()
  const asyncR = recorder()
  const a = new Engine(OPTIONS, { metrics: sync.metrics, exposureSink: sync.exposureSink })
  const b = new Engine(OPTIONS, { metrics: asyncR.metrics, exposureSink: asyncR.exposureSink })
  a.loadSnapshotJson(exampleDocuments())
  await b.loadSnapshotJsonAsync(exampleDocuments())
  const expectedLoad = asyncR.calls.length
  assert.equal(expectedLoad, sync.calls.length)
  a.recommendJson(REQUEST, ctx('r1'))
  const pending = b.recommendJsonAsync(REQUEST, ctx('r1'))
  // Nothing ran yet: the core runs on the thread pool and JS adapters only on this thread.
  assert.equal(asyncR.calls.length, expectedLoad)
  assert.equal(asyncR.events.length, 0)
  const text = await pending
  assert.equal(text, a.recommendJson(REQUEST, ctx('r1')))
  const strip = (calls) => calls.filter((c) => c[0] !== 'histogram').map((c) => JSON.stringify(c))
  assert.deepEqual(strip(asyncR.calls), strip(sync.calls.slice(0, asyncR.calls.length)))
  assert.equal(asyncR.events.length, 1)
  assert.deepEqual(asyncR.events[0], sync.events[0])
  // A rejected async call delivers its metrics too.
  const before = asyncR.calls.length
  await assert.rejects(b.recommendJsonAsync('{"k":4}', ctx('r3')))
  assert.ok(asyncR.calls.slice(before).some((c) => c[1] === 'recsys_recommendation_requests_total' && c[2].outcome === 'validation_failed'))
})

test('async artifact loading: applyManifestAsync / applyArtifactsAsync', async () => {
  const TEMPLATE = 's3://recsys-artifacts/registry/current/{tenant}/{surface}/manifest.json'
  const engine = new Engine({ manifest_template: TEMPLATE }, { store: new MemoryStore() })
  engine.loaderTrack('demo', 'home')
  const now = '2026-11-23T00:00:00Z'
  const manifest = fs.readFileSync(path.join(DATA, 'manifest.json'), 'utf8')
  const step = await engine.applyManifestAsync('demo', 'home', now, { found: manifest })
  assert.ok(Array.isArray(step.fetch) && step.fetch.length === 5, JSON.stringify(step))
  const results = {}
  for (const uri of step.fetch) {
    results[uri] = { found: fs.readFileSync(path.join(DATA, 'objectstore', uri.replace('s3://recsys-artifacts/', '')), 'utf8') }
  }
  const done = await engine.applyArtifactsAsync('demo', 'home', now, results)
  assert.equal(done.outcome, 'swapped')
  const rec = engine.recommend(REQUEST, ctx('r1'))
  assert.equal(rec.items.length, 4)
})

test('a throwing metrics adapter never breaks serving', async () => {
  let calls = 0
  const boom = () => {
    calls++
    throw new Error('statsd down')
  }
  const engine = new Engine(OPTIONS, { metrics: { counter: boom, histogram: boom, gauge: boom } })
  engine.loadSnapshotJson(exampleDocuments())
  assert.equal(JSON.parse(engine.recommendJson(REQUEST, ctx('r1'))).items.length, 4)
  assert.equal(JSON.parse(await engine.recommendJsonAsync(REQUEST, ctx('r2'))).items.length, 4)
  assert.ok(calls > 2)
  // The built-in registry still counted both.
  assert.match(engine.callObject('metrics', {}).prometheus, /outcome="success"\} 2\n/)
})
