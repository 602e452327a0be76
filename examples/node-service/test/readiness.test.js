'use strict'
// Readiness of a fleet process: not ready once the change feed has been down longer than
// the threshold, with the reason; the fleet metrics say so too.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const recsys = require('../../../bindings/node/recsys.js')
const service = require('../server.js')
const { FleetSync, fleetMetrics } = require('../fleet.js')

const NOW = '2026-11-23T00:00:00Z'

test('/readyz reasons: feed_down once the feed has been down past the threshold', async () => {
  const store = new recsys.MemoryStore()
  const state = service.createEngine({ now: NOW, adapters: { store } })
  // A listener that can never connect (no server at this socket), reconciling on its timer.
  const fleet = new FleetSync(state.engine, 'host=/nonexistent-recsys port=1 user=nobody dbname=none', {
    clock: () => NOW,
    reconcileSeconds: 0.05,
    maxBackoffSeconds: 0.05,
  })
  assert.equal(fleet.reconcile(), true)
  fleet.start()
  try {
    const full = { ...state, fleet }
    assert.deepEqual(service.standing(full, () => NOW, 30).reasons, [])
    await new Promise((r) => setTimeout(r, 300))
    const body = service.standing(full, () => NOW, 0.2)
    assert.equal(body.status, 'not_ready')
    assert.deepEqual(body.reasons, ['feed_down'])
    assert.equal(body.feed.connected, false)
    assert.ok(body.feed.down_seconds > 0.2)
    assert.match(body.feed.last_error, /ENOENT|connect/)
    const home = body.tenants.find((t) => t.tenant === 'demo').surfaces[0]
    const seeded = recsys.etag(fs.readFileSync(path.join(__dirname, '..', '..', 'data', 'config.json'), 'utf8'))
    assert.equal(home.config_version, seeded)
    const text = fleetMetrics(fleet, body.tenants)
    assert.match(text, /recsys_feed_connected 0/)
    assert.match(text, /recsys_served_version_info\{tenant="demo",surface="home",config_version="[0-9a-f]{64}"/)
  } finally {
    fleet.stop()
  }
})
