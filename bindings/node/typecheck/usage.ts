// Typed usage of the public API, compiled by `tsc --noEmit --strict` in ci.sh (never run;
// kept out of test/ so no test runner picks it up).
import * as recsys from '../recsys'
import {
  Engine,
  ErrorObject,
  JsonInput,
  JsonObject,
  LoadReport,
  Reader,
  RecommendRequest,
  RecommendedItem,
  Recommendation,
  RequestWarning,
  ServingContext,
  SimilarAnswer,
  Validation,
  Problem,
  RecsysError,
  ValidationError,
  VersionMismatchError,
  callStatic,
  canonicalize,
  etag,
} from '../recsys'
import * as native from '../index'

export async function exercise(): Promise<string[]> {
  const out: string[] = []
  const tag: string = etag('{"a":1}')
  const tagBytes: string = etag(new Uint8Array([123, 125]))
  const canonical: string = canonicalize('[1.50]')
  const answer: string = callStatic('etag', '{}')
  const ops: readonly string[] = recsys.STATIC_OPS
  out.push(tag, tagBytes, canonical, answer, ...ops)

  const engine = new Engine()
  const withOptions = new Engine({})
  const fromText = new Engine('{}')
  const raw: string = engine.call('etag', '[]')
  const reader: Reader = async (uri: string) => (uri.endsWith('.json') ? '{}' : null)
  const reports: JsonObject[] = await engine.refreshDue('2026-01-01T00:00:00Z', reader)
  const ready: JsonObject = engine.readiness('2026-01-01T00:00:00Z')
  const uri: string = engine.loaderTrack('demo', 'home')
  const recompiled: JsonObject = engine.setConfig('demo', null)
  void [reports, ready, uri, recompiled, engine.setRules('demo', '[]'), engine.liveness()]
  const obj: JsonObject = withOptions.callObject('canonicalize', { k: [1, 2] })
  const rawAsync: string = await fromText.callAsync('etag', '[]', new AbortController().signal)
  const objAsync: JsonObject = await engine.callObjectAsync('etag', '{}')
  out.push(raw, String(obj.canonical), rawAsync, String(objAsync.etag))

  const docs: JsonInput = '{"tenant":"t","surface":"home"}'
  const ctx: ServingContext = { now: '2026-01-01T00:00:00Z', request_id: 'r1', tenant: 't', roles: ['admin'] }
  try {
    const report: LoadReport = engine.loadSnapshot(docs)
    const reportText: string = engine.loadSnapshotJson('{}')
    const reportAsync: LoadReport = await engine.loadSnapshotAsync({ tenant: 't' })
    const reportTextAsync: string = await engine.loadSnapshotJsonAsync('{}')
    const request: RecommendRequest = { surface: 'home', k: 5, user: { user_id: 'u1' }, options: { explain: 'summary' } }
    const rec: Recommendation = engine.recommend(request, ctx)
    const first: RecommendedItem | undefined = rec.items[0]
    const returned: number = rec.meta.counts.returned
    const warnings: RequestWarning[] = rec.warnings ?? []
    out.push(`${first?.item_id} ${first?.score} ${first?.explain?.signals.pop} ${returned} ${warnings.length}`)
    const recText: string = engine.recommendJson('{}', '{}')
    const recAsync: Recommendation = await engine.recommendAsync('{}', ctx)
    const recTextAsync: string = await engine.recommendJsonAsync('{}', '{}')
    const val: Validation = engine.validate({ surface: 'home' }, ctx)
    out.push(val.normalized_request.options.explain)
    const valText: string = engine.validateJson('{}', '{}')
    const valAsync: Validation = await engine.validateAsync(request, JSON.stringify(ctx))
    const valTextAsync: string = await engine.validateJsonAsync('{}', '{}')
    const sim: SimilarAnswer = engine.similar({ surface: 'home', item_id: 'i1' }, ctx)
    const simText: string = engine.similarJson('{}', '{}')
    const simAsync: SimilarAnswer = await engine.similarAsync('{}', ctx)
    const simTextAsync: string = await engine.similarJsonAsync('{}', '{}')
    out.push(String(report), reportText, String(reportAsync), reportTextAsync)
    out.push(String(rec), recText, String(recAsync), recTextAsync)
    out.push(String(val), valText, String(valAsync), valTextAsync)
    out.push(String(sim), simText, String(simAsync), simTextAsync)
  } catch (e) {
    if (e instanceof VersionMismatchError) {
      out.push(String(e.details.current_version))
    } else if (e instanceof ValidationError) {
      const problems: Problem[] = e.problems
      out.push(...problems.map((p) => `${p.path} ${p.code} ${p.message}`))
    } else if (e instanceof RecsysError) {
      const code: string = e.code
      const status: number = e.status
      const details: ErrorObject = e.details
      const exact: string = e.errorJson
      out.push(code, String(status), e.message, details.code, exact)
    } else {
      throw e
    }
  }
  const cls: typeof RecsysError = recsys.errorClassFor('RECSYS_INVALID_REQUEST')
  const err: RecsysError = recsys.errorFromJson('{"code":"X","status":500,"message":"m"}')
  out.push(cls.name, err.code)

  // The generated native typings.
  const nativeEngine = new native.Engine()
  const nativeAnswer: string = nativeEngine.call('etag', '{}')
  const nativeAsync: Promise<string> = nativeEngine.callAsync('etag', '{}')
  const nativeOps: string[] = native.staticOps()
  out.push(nativeAnswer, await nativeAsync, ...nativeOps, native.etag('{}'), native.canonicalize('{}'), native.callStatic('etag', '{}'))
  return out
}

// Host adapters and the typed admin surface.
import {
  AdapterError,
  AdminContext,
  AuditDraft,
  DocumentStore,
  DocumentStoreError,
  MemoryStore,
  MetricsAdapter,
  ExposureSink,
  StoreError,
  StoredAuditEntry,
} from '../recsys'

class LoggingStore implements DocumentStore {
  private inner = new MemoryStore()
  current(tenant: string, kind: recsys.DocKind) {
    return this.inner.current(tenant, kind)
  }
  getVersion(tenant: string, kind: recsys.DocKind, etag: string) {
    return this.inner.getVersion(tenant, kind, etag)
  }
  putVersion(tenant: string, kind: recsys.DocKind, version: recsys.StoredVersion) {
    if (version.etag.length !== 64) throw new DocumentStoreError('corrupt', 'bad etag')
    return this.inner.putVersion(tenant, kind, version)
  }
  listVersions(tenant: string, kind: recsys.DocKind) {
    return this.inner.listVersions(tenant, kind)
  }
  compareAndSwap(tenant: string, swap: recsys.PointerSwap, draft: AuditDraft): StoredAuditEntry | null {
    return this.inner.compareAndSwap(tenant, swap, draft)
  }
  appendAudit(tenant: string, draft: AuditDraft): StoredAuditEntry {
    const sealed: StoredAuditEntry = draft.seal(1, null)
    void sealed
    return this.inner.appendAudit(tenant, draft)
  }
  listAudit(tenant: string, before: recsys.AuditKey | null, limit: number) {
    return this.inner.listAudit(tenant, before, limit)
  }
  auditChain(tenant: string, afterId: number | null, limit: number) {
    return this.inner.auditChain(tenant, afterId, limit)
  }
  revision(tenant: string): number {
    return this.inner.revision(tenant)
  }
  changesSince(tenant: string, since: number, limit: number): StoredAuditEntry[] {
    return this.inner.changesSince(tenant, since, limit)
  }
}

export async function exerciseAdmin(): Promise<string[]> {
  const metrics: MetricsAdapter = {
    counter: (name: string, labels: recsys.Labels, delta: number) => void [name, labels, delta],
    histogram: () => undefined,
    gauge: () => undefined,
  }
  const exposureSink: ExposureSink = { emit: async (event: JsonObject) => void event }
  const engine = new Engine({ metrics: true }, { store: new LoggingStore(), metrics, exposureSink })
  const ctx: AdminContext = { now: '2026-01-01T00:00:00Z', requestId: 'r', principal: { subject: 'a', tenant: 't', roles: ['admin'] } }
  const out: string[] = []
  const synced: JsonObject = engine.sync('2026-01-01T00:00:00Z', { tenant: 't', kinds: ['config', 'artifacts'], revision: 3 })
  const standing: JsonObject = engine.syncStatus('2026-01-01T00:00:00Z')
  const feed: readonly string[] = recsys.CHANGE_ACTIONS
  void [synced, standing, feed]
  try {
    const put: recsys.ConfigWriteAnswer = engine.putConfig('t', '{"weights":{"pop":1}}', ctx, { ifMatch: '"x"', comment: 'c' })
    const got: recsys.ConfigAnswer = engine.getConfig('t', ctx)
    const rules: recsys.RulesWriteAnswer = engine.putRules('t', [], ctx)
    const rulesNow: recsys.RulesAnswer = engine.getRules('t', ctx)
    const versions: recsys.VersionList = engine.listVersions('t', 'config', ctx)
    const back: recsys.RollbackAnswer = engine.rollback('t', 'config', ctx, { to: put.config_version })
    const page: recsys.AuditPage = engine.audit('t', ctx, { limit: 10, cursor: undefined })
    const verified: recsys.AuditVerification = engine.verifyAudit('t', ctx)
    const inv: recsys.InvalidateAnswer = engine.invalidate('t', ['config'], ctx, { surface: 'home' })
    const pin: recsys.ArtifactAdminAnswer = engine.pinArtifacts('t', 'home', ctx, { manifest: '{}' })
    const unpin: recsys.ArtifactAdminAnswer = engine.unpinArtifacts('t', 'home', ctx)
    const rel: recsys.ArtifactAdminAnswer = engine.releaseHeld('t', 'home', ctx)
    const step: JsonObject = await engine.applyManifestAsync('t', 'home', ctx.now, { not_found: true })
    const done: JsonObject = await engine.applyArtifactsAsync('t', 'home', ctx.now, { 's3://x': { error: 'down' } })
    out.push(put.config_version, String(got.config), rules.rules_version, rulesNow.rules_version, String(versions.versions.length))
    out.push(String(back.changed), String(page.entries[0]?.hash), String(verified.ok), inv.status, String(pin.audit_id))
    out.push(String(unpin.audit_id), String(rel.audit_id), String(step), String(done))
  } catch (e) {
    if (e instanceof StoreError || e instanceof AdapterError) out.push(e.code)
    else throw e
  }
  return out
}
