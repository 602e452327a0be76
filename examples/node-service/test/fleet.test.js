'use strict'
// A fleet on one real PostgreSQL: a node:cluster service (2 workers) and a single process,
// each with its own engines and change-feed listeners. A change through either is served
// by every worker within a second; concurrent If-Match writers through different
// processes have one winner; PostgreSQL restarted mid-run: every process reconnects and
// converges.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { TempPostgres } = require('../pg/temp.js')

const HERE = path.join(__dirname, '..')
const ADMIN = { 'x-org-id': 'demo', 'x-dev-user-id': 'ops', 'x-dev-roles': 'admin', 'content-type': 'application/json' }
const CLUSTER = 'http://127.0.0.1:18671'
const SINGLE = 'http://127.0.0.1:18672'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

let pg
const procs = []

async function detailed(url) {
  // A new connection each time, so the cluster's workers all get asked.
  const res = await fetch(url + '/health/detailed', { headers: { connection: 'close' } })
  return res.json()
}

function served(body) {
  const t = body.tenants.find((x) => x.tenant === 'demo')
  return t && t.surfaces.find((s) => s.surface === 'home')
}

/** Polls `url` until `workers` distinct pids answer with `want(body)`; returns the time taken. */
async function converge(url, workers, want, budgetMs) {
  const t0 = Date.now()
  const pids = new Set()
  while (pids.size < workers) {
    let body
    try {
      body = await detailed(url)
    } catch {
      body = null
    }
    if (body && want(body)) pids.add(body.pid)
    if (Date.now() - t0 > budgetMs) throw new Error(`${url}: ${pids.size}/${workers} processes converged in ${budgetMs} ms`)
    if (pids.size < workers) await sleep(3)
  }
  return Date.now() - t0
}

async function putConfig(url, weight, ifMatch) {
  const headers = ifMatch ? { ...ADMIN, 'if-match': ifMatch } : ADMIN
  const res = await fetch(url + '/v1/admin/tenants/demo/config', { method: 'PUT', headers, body: JSON.stringify({ weights: { pop: weight } }) })
  return { status: res.status, body: await res.json() }
}

test.before(async () => {
  pg = new TempPostgres(54371)
  const dsn = pg.start()
  const env = { ...process.env, RECSYS_PG_DSN: dsn, RECSYS_RECONCILE_SECONDS: '2', RECSYS_WORKERS: '2' }
  procs.push(spawn(process.execPath, ['cluster.js', '--port', '18671'], { cwd: HERE, env, stdio: 'inherit' }))
  await converge(CLUSTER, 2, (b) => b.status === 'ready', 60000)
  procs.push(spawn(process.execPath, ['server.js', '--port', '18672'], { cwd: HERE, env, stdio: 'inherit' }))
  await converge(SINGLE, 1, (b) => b.status === 'ready', 60000)
})

test.after(async () => {
  await Promise.all(
    procs.map((p) => (p.exitCode !== null ? null : new Promise((resolve) => {
      p.once('exit', resolve)
      p.kill('SIGTERM')
    }))),
  )
  if (pg) pg.stop()
})

test('a change through any process is served by every worker within a second', async () => {
  const times = []
  for (let n = 0; n < 10; n++) {
    const [from, to, workers] = n % 2 ? [CLUSTER, SINGLE, 1] : [SINGLE, CLUSTER, 2]
    const r = await putConfig(from, 0.5 + n / 100)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const want = r.body.config_version
    times.push(await converge(to, workers, (b) => served(b).config_version === want, 1000))
  }
  times.sort((a, b) => a - b)
  console.log(`node fleet propagation: p50 ${times[Math.floor(times.length / 2)]} ms, max ${times[times.length - 1]} ms`)
})

test('concurrent If-Match writers through different processes have exactly one winner', async () => {
  const current = (await (await fetch(SINGLE + '/v1/admin/tenants/demo/config', { headers: ADMIN })).json()).config_version
  const answers = await Promise.all([putConfig(CLUSTER, 0.91, current), putConfig(SINGLE, 0.92, current), putConfig(CLUSTER, 0.93, current)])
  const winners = answers.filter((a) => a.status === 200)
  assert.equal(winners.length, 1, JSON.stringify(answers.map((a) => a.status)))
  for (const a of answers.filter((x) => x.status !== 200)) assert.equal(a.body.code, 'RECSYS_VERSION_MISMATCH')
  const want = winners[0].body.config_version
  await converge(CLUSTER, 2, (b) => served(b).config_version === want, 1000)
  await converge(SINGLE, 1, (b) => served(b).config_version === want, 1000)
})

test('PostgreSQL restarted mid-run: every process reconnects, reconciles and converges', async () => {
  pg.restart()
  await converge(CLUSTER, 2, (b) => b.feed.connected && b.feed.disconnects >= 1 && b.status === 'ready', 20000)
  await converge(SINGLE, 1, (b) => b.feed.connected && b.feed.disconnects >= 1 && b.status === 'ready', 20000)
  let r
  for (let i = 0; i < 50; i++) {
    r = await putConfig(SINGLE, 0.77)
    if (r.status === 200) break
    await sleep(100)
  }
  assert.equal(r.status, 200, JSON.stringify(r.body))
  const want = r.body.config_version
  await converge(CLUSTER, 2, (b) => served(b).config_version === want, 1000)
  const metrics = await (await fetch(CLUSTER + '/metrics')).text()
  assert.match(metrics, /recsys_feed_connected 1/)
  assert.match(metrics, /recsys_served_version_info\{tenant="demo",surface="home",config_version="/)
})
