'use strict'
// Fleet convergence for one Node process (one cluster worker): a `pg` LISTEN on
// recsys_changes that calls the engine's sync within milliseconds of a commit, a periodic
// full reconcile for lost notifications, and reconnection with backoff that reconciles
// everything before the feed counts as connected again. The engine decides what is current
// (revisions only move forward), so late or duplicated notifications are harmless.

const { Client } = require('pg')
const { pgConfig } = require('./pg/store.js')

const CHANNEL = 'recsys_changes'

class FleetSync {
  constructor(engine, dsn, { clock, reconcileSeconds = 5, maxBackoffSeconds = 5, onFetch } = {}) {
    this.engine = engine
    this.config = pgConfig(dsn)
    this.clock = clock || (() => new Date().toISOString())
    this.reconcileMs = Math.max(50, reconcileSeconds * 1000)
    this.maxBackoffMs = Math.max(50, maxBackoffSeconds * 1000)
    this.onFetch = onFetch
    this.state = {
      connected: false,
      downSince: Date.now(),
      disconnects: 0,
      notifications: 0,
      syncs: 0,
      syncErrors: 0,
      lastError: null,
      lastNotificationAt: null,
      lastFullSyncAt: null,
      reconciled: false,
    }
    this.client = null
    this.timer = null
    this.stopped = false
    this.backoff = 50
  }

  start() {
    this.timer = setInterval(() => this.reconcile(), this.reconcileMs)
    this.timer.unref()
    this.#connect()
  }

  stop() {
    this.stopped = true
    clearInterval(this.timer)
    if (this.client) this.client.end().catch(() => {})
  }

  /** A full reconcile of every tenant; true when it succeeded. */
  reconcile() {
    const ok = this.sync({})
    if (ok) {
      this.state.lastFullSyncAt = Date.now()
      this.state.reconciled = true
    }
    return ok
  }

  sync(opts) {
    try {
      const answer = this.engine.sync(this.clock(), opts)
      for (const report of answer.tenants) {
        for (const need of report.fetch || []) if (this.onFetch) this.onFetch(report.tenant, need.surface, need.uris)
      }
      this.state.syncs++
      return true
    } catch (err) {
      this.state.syncErrors++
      this.state.lastError = `sync: ${err.message}`
      return false
    }
  }

  async #connect() {
    if (this.stopped) return
    const client = new Client({ ...this.config, connectionTimeoutMillis: 3000 })
    this.client = client
    client.on('error', (err) => this.#down(client, err))
    client.on('end', () => this.#down(client, new Error('listener connection ended')))
    client.on('notification', (msg) => this.#notified(msg.payload))
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      // Listening first, then reconciling: nothing committed in between is lost.
      if (!this.reconcile()) throw new Error('full reconcile after connecting failed')
      if (this.client !== client) return
      this.state.connected = true
      this.state.downSince = null
      this.backoff = 50
    } catch (err) {
      this.#down(client, err)
    }
  }

  #down(client, err) {
    if (this.client !== client) return // an old connection's late event
    this.client = null
    if (this.state.connected) {
      this.state.disconnects++
      this.state.downSince = Date.now()
    }
    this.state.connected = false
    this.state.lastError = `${err.name || 'Error'}: ${err.message}`
    client.end().catch(() => {})
    if (this.stopped) return
    const wait = this.backoff
    this.backoff = Math.min(this.maxBackoffMs, this.backoff * 2)
    setTimeout(() => {
      this.reconcile() // without the feed, keep converging on the timer
      this.#connect()
    }, wait).unref()
  }

  #notified(payload) {
    this.state.notifications++
    this.state.lastNotificationAt = Date.now()
    let msg
    try {
      msg = JSON.parse(payload)
    } catch {
      msg = null
    }
    if (!msg || typeof msg.tenant !== 'string' || !msg.tenant) return void this.reconcile()
    const revision = Number.isSafeInteger(msg.revision) && msg.revision >= 0 ? msg.revision : undefined
    this.sync({ tenant: msg.tenant, revision })
  }

  /** The feed as /readyz and /health/detailed report it. */
  report(thresholdSeconds) {
    const now = Date.now()
    const s = this.state
    const ago = (t) => (t == null ? null : (now - t) / 1000)
    return {
      connected: s.connected,
      down_seconds: s.connected || s.downSince == null ? 0 : (now - s.downSince) / 1000,
      disconnects: s.disconnects,
      notifications: s.notifications,
      syncs: s.syncs,
      sync_errors: s.syncErrors,
      reconciled: s.reconciled,
      last_notification_seconds: ago(s.lastNotificationAt),
      last_full_sync_seconds: ago(s.lastFullSyncAt),
      last_error: s.lastError,
      reconcile_seconds: this.reconcileMs / 1000,
      down_threshold_seconds: thresholdSeconds,
    }
  }
}

function label(v) {
  return String(v ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** The fleet series (same names as the Python example's). */
function fleetMetrics(fleet, tenants) {
  const lines = [
    '# HELP recsys_served_version_info Versions this process serves, per tenant and surface.',
    '# TYPE recsys_served_version_info gauge',
  ]
  for (const t of tenants) {
    for (const s of t.surfaces) {
      const l = [['tenant', t.tenant], ['surface', s.surface], ['config_version', s.config_version], ['rules_version', s.rules_version], ['manifest_version', s.manifest_version]]
      lines.push(`recsys_served_version_info{${l.map(([k, v]) => `${k}="${label(v)}"`).join(',')}} 1`)
    }
  }
  lines.push('# HELP recsys_sync_revision_behind Store changes this process has not reconciled yet, per tenant.')
  lines.push('# TYPE recsys_sync_revision_behind gauge')
  for (const t of tenants) lines.push(`recsys_sync_revision_behind{tenant="${label(t.tenant)}"} ${t.behind}`)
  lines.push('# HELP recsys_sync_last_lag_seconds Write-to-served lag of the newest change this process applied, per tenant.')
  lines.push('# TYPE recsys_sync_last_lag_seconds gauge')
  for (const t of tenants) if (t.lag_seconds != null) lines.push(`recsys_sync_last_lag_seconds{tenant="${label(t.tenant)}"} ${t.lag_seconds}`)
  const s = fleet.state
  lines.push(
    '# HELP recsys_feed_connected Whether the change feed (LISTEN) is connected and reconciled.',
    '# TYPE recsys_feed_connected gauge',
    `recsys_feed_connected ${s.connected ? 1 : 0}`,
    '# HELP recsys_feed_disconnects_total Times the change feed connection was lost.',
    '# TYPE recsys_feed_disconnects_total counter',
    `recsys_feed_disconnects_total ${s.disconnects}`,
    '# HELP recsys_feed_notifications_total Change notifications received.',
    '# TYPE recsys_feed_notifications_total counter',
    `recsys_feed_notifications_total ${s.notifications}`,
    '# HELP recsys_sync_errors_total Syncs with the store that failed.',
    '# TYPE recsys_sync_errors_total counter',
    `recsys_sync_errors_total ${s.syncErrors}`,
  )
  return lines.join('\n') + '\n'
}

module.exports = { FleetSync, fleetMetrics }
