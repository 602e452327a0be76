'use strict'
// ETag and canonical-text reference vectors (service spec, section 4.2).
const test = require('node:test')
const assert = require('node:assert/strict')
const recsys = require('..')

const VECTORS = [
  [
    '{"weights":{"pop":0.7,"cooc":0.3}}',
    '{"weights": {"pop": 0.7, "cooc": 0.3}}',
    'dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73',
  ],
  [
    '{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity","flags":{"beta":true}}',
    '{"algo": "popularity", "flags": {"beta": true}, "weights": {"emb": 0, "pop": 1, "cooc": 0}}',
    '6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97',
  ],
  [
    '[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],"surface":"home","priority":10}]',
    '[{"action": "pin", "surface": "home", "item_ids": ["item_1", "item_2"], "priority": 10, "target_type": "item"}]',
    'db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3',
  ],
  [
    '{"rules":[{"action":"block","tag":"Adult"}]}',
    '{"rules": [{"tag": "Adult", "action": "block"}]}',
    'a415b557cd4e1fd5e562f9a152f20f6f413d587224c7667f1614ba5c19061eeb',
  ],
  ['{}', '{}', '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'],
  ['[]', '[]', '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945'],
  [
    '{"n":[1.0,1e2,-0.0,0.000001,1E-7,123456789012345678901234567890]}',
    '{"n": [1.0, 100, 0.0, 0.000001, 0.0000001, 123456789012345678901234567890]}',
    '59740d8d86609441e1562d48334ee7edaa806068e5256c1541cfebfba5103057',
  ],
  ['{"a":1,"a":2}', '{"a": 2}', null],
  ['{"é":1,"z":2,"ab":3,"B":4}', '{"B": 4, "z": 2, "ab": 3, "é": 1}', null],
]

for (const [doc, canonical, tag] of VECTORS) {
  test(`vector ${doc}`, () => {
    const bytes = Buffer.from(doc, 'utf8')
    assert.equal(recsys.canonicalize(doc), canonical)
    assert.equal(recsys.canonicalize(bytes), canonical)
    assert.equal(recsys.canonicalize(new Uint8Array(bytes)), canonical)
    const got = recsys.etag(doc)
    assert.match(got, /^[0-9a-f]{64}$/)
    assert.equal(recsys.etag(bytes), got)
    if (tag !== null) assert.equal(got, tag)
    const answer = JSON.parse(recsys.callStatic('etag', doc))
    assert.deepEqual(answer, { etag: got, canonical })
    assert.equal(new recsys.Engine().call('canonicalize', doc), recsys.callStatic('canonicalize', doc))
  })
}

test('the literal scale changes the etag', () => {
  assert.notEqual(recsys.etag('{"w":0.3}'), recsys.etag('{"w":0.30}'))
  assert.equal(recsys.etag('{"w":1e2}'), recsys.etag('{"w":100}'))
})

test('64-bit integers keep every digit through the text API', () => {
  assert.equal(recsys.canonicalize('{"count":18446744073709551615}'), '{"count": 18446744073709551615}')
})

test('invalid UTF-8 bytes are a JsonError', () => {
  assert.throws(
    () => recsys.etag(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])),
    (e) => e instanceof recsys.JsonError && e.code.startsWith('RECSYS_JSON_') && e.status === 400,
  )
})

test('STATIC_OPS lists the stateless operations', () => {
  assert.ok(recsys.STATIC_OPS.includes('etag'))
  assert.ok(recsys.STATIC_OPS.includes('conformance_split'))
})
