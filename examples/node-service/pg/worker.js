'use strict'
// The PostgreSQL side of PgStore (store.js), in a worker thread: the engine calls its document
// store synchronously, `pg` is asynchronous, so the main thread posts a request here and
// blocks on a SharedArrayBuffer until this worker has written the answer into it.
//
// Answers are JSON: {"ok": value} or {"error": {"kind", "message"}}, written in chunks of
// the shared buffer's size (control[0]: 0 = empty, 1 = a chunk and more follow, 2 = the last
// chunk; control[1] = the chunk's byte length).

const { parentPort, workerData } = require('node:worker_threads')
const { Client } = require('pg')

const control = new Int32Array(workerData.control)
const data = new Uint8Array(workerData.data)
const encoder = new TextEncoder()
const I64_MIN = 9223372036854775808n
const CHANGE_ACTIONS = workerData.changeActions

let client = null
let open = false // a transaction left open between casBegin and casFinish

async function connection() {
  if (client) return client
  const c = new Client({ ...workerData.config, connectionTimeoutMillis: 3000 })
  c.on('error', () => {
    if (client === c) client = null
  })
  await c.connect()
  client = c
  return c
}

function unavailable(err) {
  const transient = ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', '57P01', '57P03', '08006', '08001']
  return transient.includes(err.code) || /terminat|connect|Connection/i.test(String(err.message))
}

/** Unix seconds and nanoseconds of a core time key (20-digit offset seconds, 9-digit nanos). */
function timeParts(key) {
  return [String(BigInt(key.slice(0, 20)) - I64_MIN), Number(key.slice(20))]
}

async function lockHead(c, tenant) {
  await c.query('INSERT INTO audit_heads (tenant_id, last_id, hash) VALUES ($1, 0, NULL) ON CONFLICT (tenant_id) DO NOTHING', [tenant])
  const head = await c.query('SELECT hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE', [tenant])
  const id = await c.query("SELECT nextval('audit_log_id_seq') AS id")
  return { id: Number(id.rows[0].id), prevHash: head.rows.length ? head.rows[0].hash : null }
}

async function insertEntry(c, tenant, entry) {
  const [seconds, nanos] = timeParts(entry.timeKey)
  await c.query(
    'INSERT INTO audit_log (id, tenant_id, occurred_seconds, occurred_nanos, action, hash, entry) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [entry.id, tenant, seconds, nanos, entry.action, entry.hash, entry],
  )
  await c.query('UPDATE audit_heads SET last_id = $1, hash = $2 WHERE tenant_id = $3', [entry.id, entry.hash, tenant])
  return entry
}

const version = (r) => ({
  etag: r.etag,
  canonicalText: r.canonical_text,
  document: r.document,
  createdAt: r.created_at,
  createdBy: r.created_by,
  comment: r.comment,
})

const OPS = {
  async ping(c) {
    await c.query('SELECT 1')
    return true
  },
  async current(c, tenant, kind) {
    const r = await c.query(
      'SELECT etag, previous, updated_at, updated_by, revision FROM document_pointers WHERE tenant_id = $1 AND kind = $2',
      [tenant, kind],
    )
    if (!r.rows.length) return null
    const p = r.rows[0]
    return { etag: p.etag, previous: p.previous, updatedAt: p.updated_at, updatedBy: p.updated_by, revision: Number(p.revision) }
  },
  async getVersion(c, tenant, kind, etag) {
    const r = await c.query(
      'SELECT etag, canonical_text, document, created_at, created_by, comment FROM document_versions WHERE tenant_id = $1 AND kind = $2 AND etag = $3',
      [tenant, kind, etag],
    )
    return r.rows.length ? version(r.rows[0]) : null
  },
  async putVersion(c, tenant, kind, v) {
    const r = await c.query(
      'INSERT INTO document_versions (tenant_id, kind, etag, canonical_text, document, created_at, created_by, comment)' +
        ' VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, kind, etag) DO NOTHING',
      [tenant, kind, v.etag, v.canonicalText, v.document, v.createdAt, v.createdBy, v.comment],
    )
    return r.rowCount === 1
  },
  async listVersions(c, tenant, kind) {
    const r = await c.query(
      'SELECT etag, canonical_text, document, created_at, created_by, comment FROM document_versions WHERE tenant_id = $1 AND kind = $2 ORDER BY seq',
      [tenant, kind],
    )
    return r.rows.map(version)
  },
  // Compare-and-swap, first half: lock the pointer and the chain head, move the pointer with
  // the new entry's id as its revision, and hand (id, prevHash) back for the core to seal the
  // entry. The transaction stays open until casFinish (or abort).
  async casBegin(c, tenant, swap) {
    await c.query('BEGIN')
    open = true
    const row = await c.query('SELECT etag FROM document_pointers WHERE tenant_id = $1 AND kind = $2 FOR UPDATE', [tenant, swap.kind])
    const cur = row.rows.length ? row.rows[0].etag : null
    const exists = await c.query('SELECT 1 FROM document_versions WHERE tenant_id = $1 AND kind = $2 AND etag = $3', [
      tenant,
      swap.kind,
      swap.newEtag,
    ])
    if (cur !== swap.expected || !exists.rows.length) return OPS.abort(c)
    const { id, prevHash } = await lockHead(c, tenant)
    const moved = row.rows.length
      ? await c.query(
          'UPDATE document_pointers SET etag = $1, previous = $2, updated_at = $3, updated_by = $4, revision = $5 WHERE tenant_id = $6 AND kind = $7 AND etag = $8',
          [swap.newEtag, swap.expected, swap.at, swap.by, id, tenant, swap.kind, swap.expected],
        )
      : await c.query(
          'INSERT INTO document_pointers (tenant_id, kind, etag, previous, updated_at, updated_by, revision) VALUES ($1, $2, $3, NULL, $4, $5, $6) ON CONFLICT (tenant_id, kind) DO NOTHING',
          [tenant, swap.kind, swap.newEtag, swap.at, swap.by, id],
        )
    if (moved.rowCount !== 1) return OPS.abort(c)
    return { id, prevHash }
  },
  // A release: every swap checked (etag, and expectedRevision when set; pointer rows locked
  // in kind order, so two releases cannot deadlock) and every pointer moved (a guard swap,
  // whose newEtag is its expected, only re-stamped) with the new entry's id as revision, in
  // one transaction that casFinish commits (or abort rolls back).
  async casAllBegin(c, tenant, swaps) {
    await c.query('BEGIN')
    open = true
    const rows = new Map()
    for (const swap of [...swaps].sort((a, b) => (a.kind < b.kind ? -1 : 1))) {
      const row = await c.query('SELECT etag, revision FROM document_pointers WHERE tenant_id = $1 AND kind = $2 FOR UPDATE', [tenant, swap.kind])
      const cur = row.rows.length ? row.rows[0] : null
      rows.set(swap.kind, cur)
      if ((cur ? cur.etag : null) !== swap.expected) return OPS.abort(c)
      if (swap.expectedRevision != null && (!cur || Number(cur.revision) !== swap.expectedRevision)) return OPS.abort(c)
      const exists = await c.query('SELECT 1 FROM document_versions WHERE tenant_id = $1 AND kind = $2 AND etag = $3', [
        tenant,
        swap.kind,
        swap.newEtag,
      ])
      if (!exists.rows.length) return OPS.abort(c)
    }
    const { id, prevHash } = await lockHead(c, tenant)
    for (const swap of swaps) {
      let moved
      if (!rows.get(swap.kind)) {
        moved = await c.query(
          'INSERT INTO document_pointers (tenant_id, kind, etag, previous, updated_at, updated_by, revision) VALUES ($1, $2, $3, NULL, $4, $5, $6) ON CONFLICT (tenant_id, kind) DO NOTHING',
          [tenant, swap.kind, swap.newEtag, swap.at, swap.by, id],
        )
      } else if (swap.newEtag === swap.expected) {
        moved = await c.query(
          'UPDATE document_pointers SET updated_at = $1, updated_by = $2, revision = $3 WHERE tenant_id = $4 AND kind = $5 AND etag = $6',
          [swap.at, swap.by, id, tenant, swap.kind, swap.expected],
        )
      } else {
        moved = await c.query(
          'UPDATE document_pointers SET etag = $1, previous = $2, updated_at = $3, updated_by = $4, revision = $5 WHERE tenant_id = $6 AND kind = $7 AND etag = $8',
          [swap.newEtag, swap.expected, swap.at, swap.by, id, tenant, swap.kind, swap.expected],
        )
      }
      if (moved.rowCount !== 1) return OPS.abort(c)
    }
    return { id, prevHash }
  },
  async casFinish(c, tenant, entry) {
    await insertEntry(c, tenant, entry)
    await c.query('COMMIT')
    open = false
    return entry
  },
  async appendBegin(c, tenant) {
    await c.query('BEGIN')
    open = true
    return lockHead(c, tenant)
  },
  async abort(c) {
    if (open) await c.query('ROLLBACK')
    open = false
    return null
  },
  async listAudit(c, tenant, before, limit) {
    const r = before
      ? await c.query(
          'SELECT entry FROM audit_log WHERE tenant_id = $1 AND (occurred_seconds, occurred_nanos, id) < ($2, $3, $4)' +
            ' ORDER BY occurred_seconds DESC, occurred_nanos DESC, id DESC LIMIT $5',
          [tenant, ...timeParts(before.timeKey), before.id, limit],
        )
      : await c.query(
          'SELECT entry FROM audit_log WHERE tenant_id = $1 ORDER BY occurred_seconds DESC, occurred_nanos DESC, id DESC LIMIT $2',
          [tenant, limit],
        )
    return r.rows.map((x) => x.entry)
  },
  async auditChain(c, tenant, afterId, limit) {
    const r = await c.query('SELECT entry FROM audit_log WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
      tenant,
      afterId ?? -1,
      limit,
    ])
    return r.rows.map((x) => x.entry)
  },
  async revision(c, tenant) {
    const r = await c.query('SELECT coalesce(max(id), 0) AS r FROM audit_log WHERE tenant_id = $1 AND action = ANY($2)', [
      tenant,
      CHANGE_ACTIONS,
    ])
    return Number(r.rows[0].r)
  },
  async changesSince(c, tenant, since, limit) {
    const r = await c.query(
      'SELECT entry FROM audit_log WHERE tenant_id = $1 AND id > $2 AND action = ANY($3) ORDER BY id LIMIT $4',
      [tenant, since, CHANGE_ACTIONS, limit],
    )
    return r.rows.map((x) => x.entry)
  },
}

function reply(text) {
  const bytes = encoder.encode(text)
  let at = 0
  do {
    const n = Math.min(data.length, bytes.length - at)
    data.set(bytes.subarray(at, at + n), 0)
    at += n
    Atomics.store(control, 1, n)
    const last = at >= bytes.length
    Atomics.store(control, 0, last ? 2 : 1)
    Atomics.notify(control, 0)
    if (!last) Atomics.wait(control, 0, 1) // the main thread takes the chunk and resets to 0
  } while (at < bytes.length)
}

parentPort.on('message', async ({ op, args }) => {
  let answer
  try {
    const c = await connection()
    answer = { ok: await OPS[op](c, ...args) }
  } catch (err) {
    if (open && client) await client.query('ROLLBACK').catch(() => {})
    open = false
    const kind = err.code === '40001' || err.code === '40P01' || err.code === '23505' ? 'conflict' : unavailable(err) ? 'unavailable' : 'other'
    if (kind === 'unavailable' && client) {
      client.end().catch(() => {})
      client = null
    }
    answer = { error: { kind, message: `postgres: ${err.message}` } }
  }
  reply(JSON.stringify(answer))
})
