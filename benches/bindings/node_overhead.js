// Binding overhead, Node (napi): a small recommend (examples/data snapshot, k=10) through
// Engine.call, recommendJson (text in and out), recommend (objects in and out) and
// recommendJsonAsync (libuv thread pool), timed call by call.
//
//   node benches/bindings/node_overhead.js DOCUMENTS_JSON [ANSWER_OUT]
'use strict'
const fs = require('fs')
const path = require('path')
const { Engine } = require(path.join(__dirname, '../../bindings/node/recsys.js'))

const REQUEST = '{"surface":"home","k":10,"user":{"user_id":"u_fitness"},"anchors":{"item_ids":["sku-running-shoe"]}}'
const CTX = '{"now":"2026-01-02T00:00:00Z","request_id":"bench","tenant":"demo"}'
const WARMUP = Number(process.env.BENCH_WARMUP || 2000)
const CALLS = Number(process.env.BENCH_CALLS || 20000)

function report(label, ns) {
  ns.sort((a, b) => a - b)
  const at = (q) => (ns[Math.round((ns.length - 1) * q)] / 1000).toFixed(2)
  console.log(`${label}: median ${at(0.5)} us, p99 ${at(0.99)} us (n=${ns.length})`)
}

function measure(label, f) {
  for (let i = 0; i < WARMUP; i++) f()
  const ns = new Float64Array(CALLS)
  const clock = process.hrtime.bigint
  for (let i = 0; i < CALLS; i++) {
    const t = clock()
    f()
    ns[i] = Number(clock() - t)
  }
  report(label, ns)
}

async function measureAsync(label, f) {
  for (let i = 0; i < WARMUP; i++) await f()
  const ns = new Float64Array(CALLS)
  const clock = process.hrtime.bigint
  for (let i = 0; i < CALLS; i++) {
    const t = clock()
    await f()
    ns[i] = Number(clock() - t)
  }
  report(label, ns)
}

async function main() {
  const documents = fs.readFileSync(process.argv[2], 'utf8')
  const engine = new Engine()
  engine.call('load_snapshot', documents)
  const envelope = `{"request":${REQUEST},"ctx":${CTX}}`
  const answer = engine.call('recommend', envelope)
  console.log(`node: answer ${Buffer.byteLength(answer)} bytes`)
  if (process.argv[3]) fs.writeFileSync(process.argv[3], answer) // for run.sh's byte comparison

  measure('node Engine.call', () => engine.call('recommend', envelope))
  measure('node Engine.recommendJson', () => engine.recommendJson(REQUEST, CTX))
  const request = JSON.parse(REQUEST)
  const ctx = JSON.parse(CTX)
  measure('node Engine.recommend (objects)', () => engine.recommend(request, ctx))
  await measureAsync('node Engine.recommendJsonAsync', () => engine.recommendJsonAsync(REQUEST, CTX))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
