// Shared by node_overhead.js and wasm_overhead.js: the request both time, and a call-by-call
// timer (BENCH_WARMUP untimed calls, then BENCH_CALLS timed ones) printing median and p99.
'use strict'

const REQUEST = '{"surface":"home","k":10,"user":{"user_id":"u_fitness"},"anchors":{"item_ids":["sku-running-shoe"]}}'
const CTX = '{"now":"2026-01-02T00:00:00Z","request_id":"bench","tenant":"demo"}'
const WARMUP = Number(process.env.BENCH_WARMUP || 2000)
const CALLS = Number(process.env.BENCH_CALLS || 20000)

function report(label, ns) {
  ns.sort()
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

module.exports = { REQUEST, CTX, measure, measureAsync }
