'use strict'
// The artifact loader through the Node binding: the async convenience driver over a host
// reader, last-known-good on failures, readiness.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Engine, ValidationError } = require('../recsys.js')

const DATA = path.join(__dirname, '..', '..', '..', 'examples', 'data')
const TEMPLATE = 's3://recsys-artifacts/registry/current/{tenant}/{surface}/manifest.json'
const MANIFEST = 's3://recsys-artifacts/registry/current/demo/home/manifest.json'

function bucket() {
  const b = { down: false }
  b.read = async (uri) => {
    if (b.down) throw new Error('object store unreachable')
    if (uri === MANIFEST) return fs.readFileSync(path.join(DATA, 'manifest.json'))
    const p = path.join(DATA, 'objectstore', uri.replace('s3://recsys-artifacts/', ''))
    return fs.existsSync(p) ? fs.readFileSync(p) : null
  }
  return b
}

const ctx = (now) => JSON.stringify({ now, tenant: 'demo', request_id: 't' })
const request = '{"surface":"home","k":3,"user":{"user_id":"u_fitness"}}'

test('refreshDue loads, then keeps the last known good when the store fails', async () => {
  const engine = new Engine({ manifest_template: TEMPLATE, manifest_ttl_seconds: 60 })
  assert.equal(engine.loaderTrack('demo', 'home'), MANIFEST)
  const b = bucket()
  const [first] = await engine.refreshDue('2026-11-23T00:00:00Z', b.read)
  assert.equal(first.outcome, 'swapped')
  const good = engine.recommend(request, ctx('2026-11-23T00:00:00Z'))
  assert.equal(good.items.length, 3)
  b.down = true
  const [second] = await engine.refreshDue('2026-11-23T00:01:00Z', b.read)
  assert.equal(second.outcome, 'kept')
  assert.deepEqual(engine.recommend(request, ctx('2026-11-23T00:01:00Z')).items, good.items)
  const ready = engine.readiness('2026-11-23T00:01:00Z')
  assert.equal(ready.status, 'ready')
  assert.equal(ready.surfaces[0].last_errors[0].code, 'RECSYS_MANIFEST_UNREADABLE')
  assert.deepEqual(engine.liveness(), { status: 'ok' })
})

test('setConfig recompiles and rejects invalid documents', () => {
  const engine = new Engine()
  engine.loadSnapshot({ tenant: 'demo', surface: 'home', signals: { popularity: [{ item_id: 'a', score: 1 }] } })
  assert.equal(engine.setConfig('demo', '{"weights":{"pop":1}}').recompiled, 1)
  assert.throws(
    () => engine.setConfig('demo', '{"algo":"nope"}'),
    (err) => err instanceof ValidationError && err.code === 'RECSYS_INVALID_CONFIG' && err.problems[0].path === '$.algo',
  )
})

test('artifacts are handed over as bytes, one at a time', async () => {
  const engine = new Engine({ manifest_template: TEMPLATE, manifest_ttl_seconds: 60 })
  engine.loaderTrack('demo', 'home')
  const { RecsysError } = require('../recsys.js')
  assert.throws(
    () => engine.loaderStageArtifact('demo', 'home', 's3://recsys-artifacts/x.json', Buffer.from('{}')),
    (e) => e instanceof RecsysError && e.code === 'RECSYS_LOADER_NO_PENDING_MANIFEST',
  )
  const b = bucket()
  const head = JSON.stringify({ tenant: 'demo', surface: 'home', now: '2026-11-23T00:00:00Z' }).slice(0, -1)
  const manifest = (await b.read(MANIFEST)).toString('utf8')
  const step = JSON.parse(engine.call('loader_apply_manifest', `${head},"result":{"found":${JSON.stringify(manifest)}}}`))
  for (const [i, uri] of step.fetch.entries()) {
    const data = await b.read(uri)
    const staged = i % 2
      ? engine.loaderStageArtifact('demo', 'home', uri, data)
      : await engine.loaderStageArtifactAsync('demo', 'home', uri, new Uint8Array(data))
    assert.equal(staged.uri, uri)
    assert.ok(staged.rows > 0)
  }
  const report = JSON.parse(engine.call('loader_apply_artifacts', `${head},"results":{}}`))
  assert.equal(report.outcome, 'swapped')
  const other = new Engine({ manifest_template: TEMPLATE, manifest_ttl_seconds: 60 })
  other.loaderTrack('demo', 'home')
  const [again] = await other.refreshDue('2026-11-23T00:00:00Z', bucket().read)
  assert.equal(again.outcome, 'swapped')
  assert.deepEqual(
    engine.recommend(request, ctx('2026-11-23T00:00:00Z')).items,
    other.recommend(request, ctx('2026-11-23T00:00:00Z')).items,
  )
})
