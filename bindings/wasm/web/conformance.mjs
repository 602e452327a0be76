// Conformance runner shared by the Node tests and the browser page.
//
// `lib` is a loaded glue module (nodejs or web target): it needs `Engine` and `callStatic`.
// `cases` is a list of `{ file, text }` where `text` is a case file's raw JSON text.
//
// Case data is never parsed and re-serialised here: `conformance_split` hands back the
// engine options, documents, input and expectation as raw JSON texts, which go to the
// engine verbatim, and `conformance_compare` does the comparison in the core.
export function runConformance(lib, cases) {
  let passed = 0;
  const failures = [];
  for (const { file, text } of cases) {
    let split;
    try {
      // The split answer is a flat object of strings produced by the core's writer.
      split = JSON.parse(lib.callStatic("conformance_split", text));
    } catch (e) {
      failures.push(`${file}: cannot split case: ${e.json ?? e}`);
      continue;
    }
    let engine;
    try {
      engine = split.engine == null ? new lib.Engine() : new lib.Engine(split.engine);
    } catch (e) {
      failures.push(`${split.name}: engine options rejected: ${e.json ?? e}`);
      continue;
    }
    try {
      if (split.documents != null) {
        try {
          engine.call("load_snapshot", split.documents);
        } catch (e) {
          failures.push(`${split.name}: load_snapshot failed: ${e.json ?? e}`);
          continue;
        }
      }
      let actual;
      try {
        actual = engine.call(split.call, split.input);
      } catch (e) {
        if (typeof e.json !== "string") throw e; // not a core error: let the test fail loudly
        actual = `{"error":${e.json}}`;
      }
      const cmp = JSON.parse(
        lib.callStatic("conformance_compare", `{"expect":${split.expect},"actual":${actual}}`),
      );
      if (cmp.pass === true) {
        passed += 1;
      } else {
        failures.push(`${split.name}:\n  expected ${cmp.expected}\n  actual   ${cmp.actual}`);
      }
    } finally {
      engine.free();
    }
  }
  return { passed, failed: failures.length, failures };
}
