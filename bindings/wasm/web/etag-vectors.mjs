// Reference ETag vectors (PostgreSQL jsonb text form, then SHA-256), from the service
// specification's table; `etag: null` rows only pin the canonical text.
export const ETAG_VECTORS = [
  {
    input: '{"weights":{"pop":0.7,"cooc":0.3}}',
    canonical: '{"weights": {"pop": 0.7, "cooc": 0.3}}',
    etag: "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73",
  },
  {
    input: '{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity","flags":{"beta":true}}',
    canonical: '{"algo": "popularity", "flags": {"beta": true}, "weights": {"emb": 0, "pop": 1, "cooc": 0}}',
    etag: "6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97",
  },
  {
    input: '[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],"surface":"home","priority":10}]',
    canonical: '[{"action": "pin", "surface": "home", "item_ids": ["item_1", "item_2"], "priority": 10, "target_type": "item"}]',
    etag: "db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3",
  },
  {
    input: '{"rules":[{"action":"block","tag":"Adult"}]}',
    canonical: '{"rules": [{"tag": "Adult", "action": "block"}]}',
    etag: "a415b557cd4e1fd5e562f9a152f20f6f413d587224c7667f1614ba5c19061eeb",
  },
  { input: "{}", canonical: "{}", etag: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" },
  { input: "[]", canonical: "[]", etag: "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945" },
  {
    input: '{"n":[1.0,1e2,-0.0,0.000001,1E-7,123456789012345678901234567890]}',
    canonical: '{"n": [1.0, 100, 0.0, 0.000001, 0.0000001, 123456789012345678901234567890]}',
    etag: "59740d8d86609441e1562d48334ee7edaa806068e5256c1541cfebfba5103057",
  },
  { input: '{"a":1,"a":2}', canonical: '{"a": 2}', etag: null },
  { input: '{"é":1,"z":2,"ab":3,"B":4}', canonical: '{"B": 4, "z": 2, "ab": 3, "é": 1}', etag: null },
];

// Checks every vector against a loaded glue module; returns a list of mismatch messages.
export function checkEtagVectors(lib) {
  const problems = [];
  for (const v of ETAG_VECTORS) {
    const answer = JSON.parse(lib.etag(v.input));
    if (answer.canonical !== v.canonical) {
      problems.push(`canonical of ${v.input}: got ${answer.canonical}, want ${v.canonical}`);
    }
    if (v.etag !== null && answer.etag !== v.etag) {
      problems.push(`etag of ${v.input}: got ${answer.etag}, want ${v.etag}`);
    }
    const alias = JSON.parse(lib.canonicalize(v.input));
    if (alias.canonical !== v.canonical) problems.push(`canonicalize of ${v.input}: got ${alias.canonical}`);
  }
  return problems;
}
