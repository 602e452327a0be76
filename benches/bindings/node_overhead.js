// Binding overhead, Node (napi): a small recommend (examples/data snapshot, k=10) through
// Engine.call, recommendJson (text in and out), recommend (objects in and out) and
// recommendJsonAsync (libuv thread pool), timed call by call.
//
//   node benches/bindings/node_overhead.js DOCUMENTS_JSON [ANSWER_OUT]
'use strict'
const fs = require('fs')
const path = require('path')
const { Engine } = require(path.join(__dirname, '../../bindings/node/recsys.js'))

const { REQUEST, CTX, measure, measureAsync } = require('./timing.js')

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
