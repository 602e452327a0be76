// Binding overhead, WASM in Node (wasm-bindgen --target nodejs, bindings/wasm/pkg-node): a
// small recommend (examples/data snapshot, k=10) through Engine.call and
// Engine.recommend(requestJson, ctxJson), timed call by call.
//
//   node benches/bindings/wasm_overhead.js DOCUMENTS_JSON [ANSWER_OUT]
'use strict'
const fs = require('fs')
const path = require('path')
const { Engine } = require(path.join(__dirname, '../../bindings/wasm/pkg-node/recsys_wasm.js'))

const REQUEST = '{"surface":"home","k":10,"user":{"user_id":"u_fitness"},"anchors":{"item_ids":["sku-running-shoe"]}}'
const CTX = '{"now":"2026-01-02T00:00:00Z","request_id":"bench","tenant":"demo"}'
const WARMUP = Number(process.env.BENCH_WARMUP || 2000)
const CALLS = Number(process.env.BENCH_CALLS || 20000)

function measure(label, f) {
  for (let i = 0; i < WARMUP; i++) f()
  const ns = new Float64Array(CALLS)
  const clock = process.hrtime.bigint
  for (let i = 0; i < CALLS; i++) {
    const t = clock()
    f()
    ns[i] = Number(clock() - t)
  }
  ns.sort()
  const at = (q) => (ns[Math.round((ns.length - 1) * q)] / 1000).toFixed(2)
  console.log(`${label}: median ${at(0.5)} us, p99 ${at(0.99)} us (n=${CALLS})`)
}

const documents = fs.readFileSync(process.argv[2], 'utf8')
const engine = new Engine()
engine.call('load_snapshot', documents)
const envelope = `{"request":${REQUEST},"ctx":${CTX}}`
const answer = engine.call('recommend', envelope)
console.log(`wasm: answer ${Buffer.byteLength(answer)} bytes`)
if (process.argv[3]) fs.writeFileSync(process.argv[3], answer) // for run.sh's byte comparison

measure('wasm Engine.call', () => engine.call('recommend', envelope))
measure('wasm Engine.recommend(request, ctx)', () => engine.recommend(REQUEST, CTX))
engine.free()
