'use strict'
// Reference HTTP details and operations: the license route, quoted ETags with both If-Match
// forms, Allow on 405, JSON request logs with request ids, the startup warning without
// credentials, and backpressure: concurrent clients see only 200 or 503 RECSYS_OVERLOADED
// with Retry-After, and the rejections are counted.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const service = require('../server.js')

const DATA = path.join(__dirname, '..', '..', 'data')
const REQUEST = fs.readFileSync(path.join(DATA, 'request.json'), 'utf8')
const CONFIG_URL = '/v1/admin/tenants/demo/config'
const ADMIN = { 'x-org-id': 'demo', 'x-dev-user-id': 'ops@example.com', 'x-dev-roles': 'admin' }

async function withService(options, fn) {
  const logs = []
  const running = await service.start({ host: '127.0.0.1', port: 0, log: (l) => logs.push(l), ...options })
  try {
    return await fn(running.url, logs)
  } finally {
    await new Promise((r) => running.server.close(r))
  }
}

test('license, quoted ETag with both If-Match forms, Allow, logs, startup warning', async () => {
  await withService({}, async (url, logs) => {
    assert.equal(logs[0].level, 'warn')
    assert.match(logs[0].msg, /no api keys and no jwt auth configured/)
    const lic = await fetch(url + '/v1/license')
    assert.equal(lic.status, 200)
    assert.equal(lic.headers.get('cache-control'), 'no-store')
    assert.equal((await lic.json()).license, 'Apache-2.0')
    const got = await fetch(url + CONFIG_URL, { headers: ADMIN })
    const tag = got.headers.get('etag')
    assert.match(tag, /^"[0-9a-f]{64}"$/)
    const quoted = await fetch(url + CONFIG_URL, { method: 'PUT', headers: { ...ADMIN, 'if-match': tag }, body: '{"weights":{"pop":2}}' })
    assert.equal(quoted.status, 200)
    const bare = (await quoted.json()).config_version
    const second = await fetch(url + CONFIG_URL, { method: 'PUT', headers: { ...ADMIN, 'if-match': bare }, body: '{"weights":{"pop":3}}' })
    assert.equal(second.status, 200)
    const wrong = await fetch(url + CONFIG_URL, { method: 'POST', headers: ADMIN })
    assert.equal(wrong.status, 405)
    assert.equal(wrong.headers.get('allow'), 'GET, PUT')
    const r = await fetch(url + '/v1/recommend', { method: 'POST', headers: { 'x-org-id': 'demo', 'x-request-id': 'req-log-9' }, body: REQUEST })
    assert.equal(r.status, 200)
    const line = logs.find((l) => l.request_id === 'req-log-9')
    assert.equal(line.msg, 'request')
    assert.equal(line.status, 200)
    assert.equal(line.tenant, 'demo')
    assert.equal(typeof line.duration_ms, 'number')
    assert.ok(!JSON.stringify(logs).includes(JSON.parse(REQUEST).user.user_id), 'no raw user ids in logs')
    assert.ok(logs.filter((l) => l.msg === 'request').every((l) => typeof l.request_id === 'string'))
  })
})

test('backpressure: concurrent clients get 200 or 503 RECSYS_OVERLOADED with Retry-After', async () => {
  const engineOptions = { metrics: true, backpressure: { max_in_flight: 1, max_queue: 0, queue_timeout_ms: 0, retry_after_ms: 3000 } }
  await withService({ engineOptions }, async (url) => {
    // libuv's pool is sized to the gate (1 in flight + 0 queued + 4 spares).
    assert.equal(process.env.UV_THREADPOOL_SIZE, '5')
    // A request that keeps its slot busy for a while (5,000 exclusions to decode, intern and
    // sort), so concurrent clients overlap however fast the core serves the example tenant.
    const heavy = JSON.stringify({
      ...JSON.parse(REQUEST),
      candidates: { exclude_ids: Array.from({ length: 5000 }, (_, i) => `sku-absent-${i}`) },
    })
    let ok = 0
    let refused = 0
    // Batches of 48 concurrent clients until the gate has refused some (bounded: 100 batches;
    // a refusal usually comes within the first few).
    for (let batch = 0; batch < 100 && refused === 0; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 48 }, () => fetch(url + '/v1/recommend', { method: 'POST', headers: { 'x-org-id': 'demo' }, body: heavy })),
      )
      for (const r of answers) {
        const body = await r.json()
        if (r.status === 200) {
          ok++
          continue
        }
        assert.equal(r.status, 503, JSON.stringify(body))
        assert.equal(body.code, 'RECSYS_OVERLOADED')
        assert.equal(body.detail, 'service overloaded')
        assert.equal(r.headers.get('retry-after'), '3')
        refused++
      }
    }
    assert.ok(ok > 0 && refused > 0, `ok ${ok}, refused ${refused}`)
    const metrics = await (await fetch(url + '/metrics')).text()
    assert.ok(metrics.includes(`recsys_backpressure_rejections_total ${refused}`), metrics)
  })
})
