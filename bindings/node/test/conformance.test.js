'use strict'
// Runs the language-neutral conformance corpus exactly as the Rust runner does. Case data is
// never parsed by JavaScript (64-bit counts would lose digits): `conformance_split` returns
// the raw JSON texts, which go to the engine verbatim, and the comparison input is built by
// string concatenation.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Engine, RecsysError, callStatic } = require('..')

const CASES = path.resolve(__dirname, '../../../recsys-core/tests/conformance/cases')

function runCase(text) {
  const split = JSON.parse(callStatic('conformance_split', text)) // members are JSON texts
  const engine = split.engine !== null ? new Engine(split.engine) : new Engine()
  if (split.documents !== null) {
    try {
      engine.call('load_snapshot', split.documents)
    } catch (e) {
      if (!(e instanceof RecsysError)) throw e
      return { name: split.name, pass: false, why: `load_snapshot failed: ${e.errorJson}` }
    }
  }
  let actual
  try {
    actual = engine.call(split.call, split.input)
  } catch (e) {
    if (!(e instanceof RecsysError)) throw e
    actual = '{"error":' + e.errorJson + '}'
  }
  const cmp = JSON.parse(callStatic('conformance_compare', '{"expect":' + split.expect + ',"actual":' + actual + '}'))
  return { name: split.name, pass: cmp.pass === true, why: `expected ${cmp.expected}\n  actual   ${cmp.actual}` }
}

test('conformance corpus', () => {
  const files = fs
    .readdirSync(CASES)
    .filter((f) => f.endsWith('.json'))
    .sort()
  assert.ok(files.length > 0, 'the conformance corpus must not be empty')
  const results = files.map((f) => runCase(fs.readFileSync(path.join(CASES, f), 'utf8')))
  const failed = results.filter((r) => !r.pass).map((r) => `${r.name}:\n  ${r.why}`)
  console.log(`conformance: ${results.length - failed.length} passed, ${failed.length} failed`)
  assert.deepEqual(failed, [])
})
