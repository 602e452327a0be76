'use strict'
// A recsys-core document store on PostgreSQL for the Node binding, with the tables (and the
// change-feed triggers) of examples/python-service/migrations: one schema for both example
// services (a database holds one service's audit entries: the two bindings store them in
// their own shapes).
//
// The engine calls a document store synchronously from inside an engine call; `pg` is
// asynchronous. So the queries run in a worker thread (worker.js) and every method here
// posts a request and blocks this thread on Atomics.wait until the answer is written into
// shared memory: each method is one round trip to PostgreSQL (a few hundred microseconds
// on a local socket), and one transaction.

const fs = require('node:fs')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { Client } = require('pg')
const recsys = require('../../../bindings/node/recsys.js')

const MIGRATIONS = path.join(__dirname, '..', '..', 'python-service', 'migrations')
const MIGRATION_LOCK = 4242001
const CHUNK = 1 << 20
const TIMEOUT_MS = 15000

/** libpq `key=value` DSN (as the Python example takes) or a URL → a pg client config. */
function pgConfig(dsn) {
  if (/^postgres(ql)?:\/\//.test(dsn)) return { connectionString: dsn }
  const out = {}
  for (const part of dsn.trim().split(/\s+/)) {
    const [k, v] = part.split('=')
    if (k === 'dbname') out.database = v
    else if (k === 'port') out.port = Number(v)
    else if (['host', 'user', 'password'].includes(k)) out[k] = v
  }
  return out
}

/** Applies the SQL files not applied yet, in name order, under an advisory lock. */
async function migrate(dsn) {
  const c = new Client(pgConfig(dsn))
  await c.connect()
  const applied = []
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const done = new Set((await c.query('SELECT name FROM schema_migrations')).rows.map((r) => r.name))
    for (const name of fs.readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort()) {
      if (done.has(name)) continue
      await c.query('BEGIN')
      try {
        await c.query(fs.readFileSync(path.join(MIGRATIONS, name), 'utf8'))
        await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name])
        await c.query('COMMIT')
      } catch (err) {
        await c.query('ROLLBACK')
        throw err
      }
      applied.push(name)
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    await c.end()
  }
  return applied
}

class PgStore {
  #config
  #worker = null
  #control
  #data
  #decoder = new TextDecoder()

  constructor(dsn) {
    this.#config = pgConfig(dsn)
    this.#start()
  }

  #start() {
    const control = new SharedArrayBuffer(8)
    const data = new SharedArrayBuffer(CHUNK)
    this.#control = new Int32Array(control)
    this.#data = new Uint8Array(data)
    this.#worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: { config: this.#config, control, data, changeActions: [...recsys.CHANGE_ACTIONS] },
    })
    this.#worker.unref()
  }

  /** One request to the worker, blocking this thread until its answer is complete. */
  #call(op, ...args) {
    const ctl = this.#control
    Atomics.store(ctl, 0, 0)
    this.#worker.postMessage({ op, args })
    let text = ''
    for (;;) {
      if (Atomics.wait(ctl, 0, 0, TIMEOUT_MS) === 'timed-out') {
        // A stuck worker is replaced; its late answer can never be mistaken for another's.
        this.#worker.terminate()
        this.#start()
        throw new recsys.DocumentStoreError('unavailable', `postgres: no answer to ${op} in ${TIMEOUT_MS} ms`)
      }
      const state = Atomics.load(ctl, 0)
      text += this.#decoder.decode(this.#data.subarray(0, Atomics.load(ctl, 1)))
      Atomics.store(ctl, 0, 0)
      if (state === 2) break
      Atomics.notify(ctl, 0) // the worker writes the next chunk
    }
    const answer = JSON.parse(text)
    if (answer.error) throw new recsys.DocumentStoreError(answer.error.kind, answer.error.message)
    return answer.ok
  }

  ping() {
    return this.#call('ping')
  }
  close() {
    if (this.#worker) this.#worker.terminate()
    this.#worker = null
  }

  // ---- the DocumentStore interface (see bindings/node/recsys.d.ts) -----------------------

  current(tenant, kind) {
    return this.#call('current', tenant, kind)
  }
  getVersion(tenant, kind, etag) {
    return this.#call('getVersion', tenant, kind, etag)
  }
  putVersion(tenant, kind, version) {
    return this.#call('putVersion', tenant, kind, version)
  }
  listVersions(tenant, kind) {
    return this.#call('listVersions', tenant, kind)
  }
  compareAndSwap(tenant, swap, draft) {
    checkTenant(tenant, draft)
    const taken = this.#call('casBegin', tenant, swap)
    return taken === null ? null : this.#seal(tenant, draft, taken)
  }
  /** A release: several pointers moved (or guarded) and one entry appended, in one transaction. */
  compareAndSwapAll(tenant, swaps, draft) {
    checkTenant(tenant, draft)
    const taken = this.#call('casAllBegin', tenant, swaps)
    return taken === null ? null : this.#seal(tenant, draft, taken)
  }
  appendAudit(tenant, draft) {
    checkTenant(tenant, draft)
    return this.#seal(tenant, draft, this.#call('appendBegin', tenant))
  }
  /** The core seals the entry with the id and head hash taken inside the open transaction. */
  #seal(tenant, draft, { id, prevHash }) {
    let entry
    try {
      entry = draft.seal(id, prevHash)
    } catch (err) {
      this.#call('abort')
      throw err
    }
    return this.#call('casFinish', tenant, entry)
  }
  listAudit(tenant, before, limit) {
    return this.#call('listAudit', tenant, before, limit)
  }
  auditChain(tenant, afterId, limit) {
    return this.#call('auditChain', tenant, afterId, limit)
  }
  revision(tenant) {
    return this.#call('revision', tenant)
  }
  changesSince(tenant, since, limit) {
    return this.#call('changesSince', tenant, since, limit)
  }
}

function checkTenant(tenant, draft) {
  if (draft.tenant !== tenant) {
    throw new recsys.DocumentStoreError('other', `audit entry for tenant ${JSON.stringify(draft.tenant)} appended to tenant ${JSON.stringify(tenant)}`)
  }
}

module.exports = { PgStore, migrate, pgConfig }
