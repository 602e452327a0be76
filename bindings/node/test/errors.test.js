'use strict'
// Errors carry the core's code, status, message and problems, as the matching subclass.
const test = require('node:test')
const assert = require('node:assert/strict')
const recsys = require('..')
const { Engine, RecsysError, ValidationError, JsonError, UnknownOperationError } = recsys

test('unknown operation', () => {
  assert.throws(
    () => new Engine().call('frobnicate', '{}'),
    (e) => {
      assert.ok(e instanceof UnknownOperationError)
      assert.ok(e instanceof RecsysError)
      assert.ok(e instanceof Error)
      assert.equal(e.name, 'UnknownOperationError')
      assert.equal(e.code, 'RECSYS_UNKNOWN_OPERATION')
      assert.equal(e.status, 400)
      assert.match(e.message, /frobnicate/)
      assert.deepEqual(e.problems, [])
      assert.equal(e.details.code, 'RECSYS_UNKNOWN_OPERATION')
      assert.equal(JSON.parse(e.errorJson).code, 'RECSYS_UNKNOWN_OPERATION')
      return true
    },
  )
  assert.throws(() => recsys.callStatic('recommend', '{}'), UnknownOperationError)
})

test('json syntax errors carry problems', () => {
  assert.throws(
    () => new Engine().call('etag', '{"a":'),
    (e) => {
      assert.ok(e instanceof JsonError && e instanceof ValidationError)
      assert.ok(e.code.startsWith('RECSYS_JSON_'))
      assert.equal(e.problems.length, 1)
      assert.deepEqual(Object.keys(e.problems[0]).sort(), ['code', 'message', 'path'])
      return true
    },
  )
})

test('engine options', () => {
  assert.throws(() => new Engine('[1]'), (e) => e instanceof ValidationError && e.code === 'RECSYS_INVALID_OPTIONS')
  assert.throws(() => new Engine('{'), JsonError)
  assert.equal(new Engine({}).callObject('etag', { b: 1 }).canonical, '{"b": 1}')
  assert.equal(new Engine(null).call('canonicalize', '[1.50]').length > 0, true)
})

test('argument type errors pass through unchanged', () => {
  assert.throws(() => new Engine().call('etag', 42), (e) => !(e instanceof RecsysError))
  assert.throws(() => recsys.etag(42), (e) => !(e instanceof RecsysError))
})

test('named operations are forwarded and their errors typed', () => {
  const engine = new Engine()
  for (const call of [
    () => engine.recommendJson('{', '{}'),
    () => engine.validate({ k: 1 }, '{'),
    () => engine.similarJson('[', ']'),
    () => engine.loadSnapshotJson('{'),
  ]) {
    assert.throws(call, RecsysError)
  }
})

test('code to class mapping, unknown codes fall back to the base class', () => {
  const cases = {
    RECSYS_INVALID_REQUEST: recsys.ValidationError,
    RECSYS_UNPROCESSABLE_ENTITY: recsys.ValidationError,
    RECSYS_VALIDATION_FAILED: recsys.ValidationError,
    RECSYS_JSON_SYNTAX: recsys.JsonError,
    RECSYS_VERSION_MISMATCH: recsys.VersionMismatchError,
    RECSYS_ARTIFACT_INCOMPATIBLE: recsys.ArtifactError,
    RECSYS_OVERLOADED: recsys.OverloadedError,
    RECSYS_FORBIDDEN: recsys.ForbiddenError,
    RECSYS_TENANT_NOT_FOUND: recsys.NotFoundError,
    RECSYS_UNKNOWN_OPERATION: recsys.UnknownOperationError,
    RECSYS_INTERNAL: recsys.InternalError,
    RECSYS_SOMETHING_NEW: recsys.RecsysError,
  }
  for (const [code, cls] of Object.entries(cases)) {
    assert.equal(recsys.errorClassFor(code), cls, code)
    const e = recsys.errorFromJson(JSON.stringify({ code, status: 409, message: 'm' }))
    assert.equal(e.constructor, cls)
    assert.equal(e.status, 409)
  }
  const vm = recsys.errorFromJson(
    '{"code":"RECSYS_VERSION_MISMATCH","status":409,"message":"stale","current_version":"abc"}',
  )
  assert.equal(vm.details.current_version, 'abc')
  assert.ok(recsys.errorFromJson('nope') instanceof recsys.InternalError)
})
