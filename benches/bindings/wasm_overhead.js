// Binding overhead, WASM in Node (wasm-bindgen --target nodejs, bindings/wasm/pkg-node): a
// small recommend (examples/data snapshot, k=10) through Engine.call and
// Engine.recommend(requestJson, ctxJson), timed call by call.
//
//   node benches/bindings/wasm_overhead.js DOCUMENTS_JSON [ANSWER_OUT]
'use strict'
const fs = require('fs')
const path = require('path')
const { Engine } = require(path.join(__dirname, '../../bindings/wasm/pkg-node/recsys_wasm.js'))

const { REQUEST, CTX, measure } = require('./timing.js')

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
