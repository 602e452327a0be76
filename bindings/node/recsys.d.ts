// Types of the public entry `recsys.js` (hand-written; the native addon's own types are in
// the generated `index.d.ts`).
//
// The object variants go through JSON.parse / JSON.stringify (numbers become doubles); pass
// documents as JSON text and use the `*Json` variants when literals must stay exact.

/** A JSON value given as text (passed to the core verbatim) or as an object (stringified). */
export type JsonInput = string | object

/** A parsed JSON object answered by the core. */
export type JsonObject = { [key: string]: unknown }

/** One finding behind an error. */
export interface Problem {
  path: string
  code: string
  message: string
}

/** The core's error object: `{code, status, message, problems?, ...extra}`. */
export interface ErrorObject {
  code: string
  status: number
  message: string
  problems?: Problem[]
  [extra: string]: unknown
}

// ---- requests and answers of the serving operations --------------------------------------
// Their JSON shape is the conformance corpus's (recsys-core/tests/conformance): CI type-checks
// every corpus request and answer as a literal of these types (`tsc --strict`,
// bindings/corpus_types.py), so a member the core adds, drops or retypes fails the build.
// Requests are given in their canonical form: the core also accepts member names in any case
// and `null` for an absent member (Go compatibility).

/** Who the recommendation is for (at least one id for personalised signals). */
export interface User {
  user_id?: string
  anonymous_id?: string
  session_id?: string
}

/** Request context; `now` (RFC 3339) is only used when the host's ctx has none. */
export interface RequestContext {
  locale?: string
  device?: string
  country?: string
  now?: string
}

/** Seed items for co-occurrence and similarity signals. */
export interface Anchors {
  item_ids?: string[]
  max_anchors?: number
}

/** Candidate ids to add (`include_ids`) or remove (`exclude_ids`). */
export interface CandidateFilter {
  include_ids?: string[]
  exclude_ids?: string[]
}

/** Tag constraints; tags are matched lower-cased and trimmed. */
export interface Constraints {
  required_tags?: string[]
  forbidden_tags?: string[]
  /** At most this many items per tag. */
  max_per_tag?: { [tag: string]: number }
}

/** Blend weights per signal (non-negative). */
export interface Weights {
  pop?: number
  cooc?: number
  emb?: number
}

export type ExplainLevel = 'none' | 'summary' | 'full'

export interface RequestOptions {
  include_reasons?: boolean
  /** `full` (and `include_trace`) need the admin role in ctx.roles. */
  explain?: ExplainLevel
  include_trace?: boolean
  seed?: number
}

/** A variant forced by the caller (otherwise assigned by the engine's experiments). */
export interface ExperimentRef {
  id?: string
  variant?: string
}

/** The `request` of `recommend` and `validate`. */
export interface RecommendRequest {
  surface: string
  /** Default `default`. */
  segment?: string
  /** Default 20; at most the surface's limit. */
  k?: number
  user?: User
  context?: RequestContext
  anchors?: Anchors
  candidates?: CandidateFilter
  constraints?: Constraints
  weights?: Weights
  options?: RequestOptions
  experiment?: ExperimentRef
}

/** The `request` of `similar`: items like `item_id`. */
export interface SimilarRequest {
  surface: string
  segment?: string
  item_id: string
  k?: number
  candidates?: CandidateFilter
  constraints?: Constraints
  options?: RequestOptions
}

/** The host context of a serving call: the core reads no clock and does no auth. */
export interface ServingContext {
  /** RFC 3339. */
  now: string
  tenant: string
  request_id?: string
  /** The caller's roles (`admin` unlocks `explain: full` and `include_trace`). */
  roles?: string[]
}

/** A request adjustment the core made (`DEFAULT_APPLIED`, `LIMIT_CLAMPED`, ...). */
export interface RequestWarning {
  code: string
  detail: string
}

/** Signal values of one item, by signal. */
export interface SignalValues {
  pop: number
  cooc: number
  emb: number
}

/** Why an item scored as it did (`options.explain`). */
export interface ItemExplain {
  signals: SignalValues
  /** Rule tokens that touched the item (`boost:r1`, `pin:r2`, ...). */
  rules?: string[]
  /** `explain: full` only, from here on. */
  raw?: { pop: number; cooc: number; collab: number; content: number; session: number }
  weights?: SignalValues
  boost?: number
  pinned?: boolean
  mmr?: { lambda: number; relevance: number; max_sim: number; penalty: number; rank: number }
}

/** One ranked item. */
export interface RecommendedItem {
  item_id: string
  /** 1-based. */
  rank: number
  score: number
  /** `options.include_reasons`: `recent_popularity`, `co_visitation`, `diversity`, ... */
  reasons?: string[]
  explain?: ItemExplain
}

/** How many candidates were left after each stage. */
export interface Counts {
  candidates: number
  after_include: number
  after_exclude: number
  after_constraints: number
  after_rules: number
  pinned: number
  returned: number
}

/** Why an answer has fewer than `k` items, stage by stage. */
export interface Diagnostic {
  stage: string
  removed?: number
  message: string
}

/** What a rule did to this request (`meta.rules`). */
export interface RuleOutcome {
  rule_id: string
  action: string
  outcome: string
}

/** The answer's provenance: tenant, versions of every input, counts. */
export interface AnswerMeta {
  tenant_id: string
  surface: string
  segment: string
  algo_version: string
  config_version?: string
  rules_version?: string
  manifest_version?: string
  release_id?: string
  /** Version of each artifact served, by kind (`popularity`, `cooc`, ...). */
  artifact_versions?: { [kind: string]: string }
  /** Set when the surface fell back to another surface's snapshot. */
  snapshot_surface?: string
  request_id?: string
  counts: Counts
  rules?: RuleOutcome[]
  diagnostics?: Diagnostic[]
  /** The experiment variant this request was assigned. */
  experiment?: { id: string; variant?: string }
}

/** The answer of `recommend` (and of `similar`). */
export interface Recommendation {
  items: RecommendedItem[]
  meta: AnswerMeta
  warnings?: RequestWarning[]
}

/** The answer of `similar`: the same shape as a recommendation. */
export type SimilarAnswer = Recommendation

/** The request as the core understood it: defaults applied, lists normalised. */
export interface NormalizedRequest extends RecommendRequest {
  segment: string
  k: number
  user: User
  options: Required<RequestOptions>
}

/** A lint finding about the documents serving a tenant. */
export interface LintFinding {
  code: string
  severity: 'error' | 'warning'
  /** Document indexes of the rules involved (the rule reported first). */
  rules: number[]
  /** JSON path in the document concerned. */
  path: string
  /** The surface the finding is about, when it depends on one. */
  surface?: string
  /** For `RULES_NOT_YET_ACTIVE`: when the rule starts (RFC 3339). */
  starts_at?: string
  message: string
}

/** The answer of `validate`. */
export interface Validation {
  normalized_request: NormalizedRequest
  warnings?: RequestWarning[]
  meta: { tenant_id: string; surface: string; segment: string; algo_version: string; request_id?: string }
  /** Lint findings of the documents serving the tenant (present only when there are any). */
  lint?: LintFinding[]
}

/** The answer of `load_snapshot`: what was compiled and installed. */
export interface LoadReport {
  tenant: string
  surface: string
  config_version: string | null
  rules_version: string | null
  manifest_version: string | null
  artifact_versions: { [kind: string]: string }
  /** Items in the catalog. */
  items: number
  rules: { loaded: number; serving: number; dropped: Problem[] }
  warnings: Problem[]
}

/** An error answered by the recsys core. */
export declare class RecsysError extends Error {
  constructor(
    code: string,
    status: number,
    message: string,
    problems?: Problem[] | null,
    details?: ErrorObject | null,
    errorJson?: string | null,
  )
  /** Stable machine-readable code (`RECSYS_INVALID_REQUEST`, ...). */
  readonly code: string
  /** The HTTP status a host should answer with. */
  readonly status: number
  /** Findings behind the error (validation problems), possibly empty. */
  readonly problems: Problem[]
  /** The whole error object, including extra members such as `current_version`. */
  readonly details: ErrorObject
  /** The error object as the core's exact JSON text. */
  readonly errorJson: string
}
/** `RECSYS_INVALID_*`, `RECSYS_UNPROCESSABLE*`, `RECSYS_VALIDATION_*`. */
export declare class ValidationError extends RecsysError {}
/** `RECSYS_JSON_*`: the input is not acceptable JSON. */
export declare class JsonError extends ValidationError {}
/** `RECSYS_VERSION_MISMATCH`. */
export declare class VersionMismatchError extends RecsysError {}
/** `RECSYS_ARTIFACT_*`. */
export declare class ArtifactError extends RecsysError {}
/** `RECSYS_OVERLOADED`. */
export declare class OverloadedError extends RecsysError {}
/** `RECSYS_FORBIDDEN`. */
export declare class ForbiddenError extends RecsysError {}
/** `RECSYS_*_NOT_FOUND`. */
export declare class NotFoundError extends RecsysError {}
/** `RECSYS_UNKNOWN_OPERATION`. */
export declare class UnknownOperationError extends RecsysError {}
/** `RECSYS_INTERNAL`, including a caught panic in the core. */
export declare class InternalError extends RecsysError {}
/** `RECSYS_STORE_UNAVAILABLE` (503), `RECSYS_STORE_CONFLICT` (409), `RECSYS_STORE_CORRUPT`, `RECSYS_STORE_ERROR` (500). */
export declare class StoreError extends RecsysError {}
/** `RECSYS_ADAPTER_SYNC_ONLY` (an async call needing the JS store), `RECSYS_ADAPTER_REENTRANT` (an adapter called the engine). */
export declare class AdapterError extends RecsysError {}

/** The error class thrown for `code` (`RecsysError` for codes this version does not know). */
export declare function errorClassFor(code: string): typeof RecsysError
/** Builds the error for a core error object given as JSON text. */
export declare function errorFromJson(errorJson: string): RecsysError

/**
 * The serving engine: compiled snapshots per (tenant, surface) plus engine options.
 * Synchronous methods block the event loop for the duration of the core call; the
 * `*Async` methods run on libuv's thread pool.
 */
export declare class Engine {
  /**
   * `options`: engine options as an object or JSON text; omitted for the defaults.
   * `adapters`: host adapters called synchronously from inside engine calls (see `Adapters`).
   */
  constructor(options?: JsonInput | null, adapters?: Adapters | null)

  /** Runs `op` with a JSON input text; returns the JSON answer text. Any op name is forwarded. */
  call(op: string, input: string): string
  callAsync(op: string, input: string, signal?: AbortSignal | null): Promise<string>
  /** Runs `op` with an object (or JSON text); returns the answer parsed. */
  callObject(op: string, input: JsonInput): JsonObject
  callObjectAsync(op: string, input: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

  /** Compiles and installs a snapshot from `{tenant, surface, config, rules, manifest, artifacts}`. */
  loadSnapshotJson(documents: string): string
  loadSnapshot(documents: JsonInput): LoadReport
  loadSnapshotJsonAsync(documents: string, signal?: AbortSignal | null): Promise<string>
  loadSnapshotAsync(documents: JsonInput, signal?: AbortSignal | null): Promise<LoadReport>

  /**
   * `ctx` carries `now` (RFC 3339), `tenant`, `request_id` and `roles`. Objects or JSON texts;
   * the core builds the `{request, ctx}` input (each text must be one JSON value).
   */
  recommendJson(request: string, ctx: string): string
  recommend(request: RecommendRequest | string, ctx: ServingContext | string): Recommendation
  recommendJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  recommendAsync(request: RecommendRequest | string, ctx: ServingContext | string, signal?: AbortSignal | null): Promise<Recommendation>

  validateJson(request: string, ctx: string): string
  validate(request: RecommendRequest | string, ctx: ServingContext | string): Validation
  validateJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  validateAsync(request: RecommendRequest | string, ctx: ServingContext | string, signal?: AbortSignal | null): Promise<Validation>

  similarJson(request: string, ctx: string): string
  similar(request: SimilarRequest | string, ctx: ServingContext | string): SimilarAnswer
  similarJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  similarAsync(request: SimilarRequest | string, ctx: ServingContext | string, signal?: AbortSignal | null): Promise<SimilarAnswer>

  /** Replaces a tenant's config (JSON text; null removes it) and recompiles its surfaces. */
  setConfig(tenant: string, documentJson: string | null): JsonObject
  /** Replaces a tenant's rules (JSON text; null removes them) and recompiles its surfaces. */
  setRules(tenant: string, documentJson: string | null): JsonObject
  /** `{status: "ok"}` while the engine is usable. */
  liveness(): JsonObject
  /** Per tenant/surface readiness report at `now` (RFC 3339). */
  readiness(now: string): JsonObject
  /** Starts refreshing (tenant, surface) from the `manifest_template` option; returns the manifest URI. */
  loaderTrack(tenant: string, surface: string): string
  /** Hands over one artifact of the pending manifest as bytes (read in place); returns {uri, kind, version, rows}. */
  loaderStageArtifact(tenant: string, surface: string, uri: string, data: Uint8Array): JsonObject
  /** Like `loaderStageArtifact`, off the event loop (the bytes are copied once, natively). */
  loaderStageArtifactAsync(tenant: string, surface: string, uri: string, data: Uint8Array): Promise<JsonObject>
  /** Refreshes every tracked surface due at `now` with the host's reader; one report per surface. */
  refreshDue(now: string, read: Reader): Promise<JsonObject[]>
  /** Loader step 1 off the event loop: the manifest's fetch result; answers `{fetch: uris}` or a report. */
  applyManifestAsync(tenant: string, surface: string, now: string, result: FetchResult, signal?: AbortSignal | null): Promise<JsonObject>
  /** Loader step 2 off the event loop: fetch results by URI; answers the refresh report. */
  applyArtifactsAsync(
    tenant: string,
    surface: string,
    now: string,
    results: { [uri: string]: FetchResult },
    signal?: AbortSignal | null,
  ): Promise<JsonObject>

  // Control plane. Synchronous (they may call a JS document store). Errors: NotFoundError,
  // VersionMismatchError (409), ForbiddenError (403: other tenant or role), ValidationError,
  // StoreError.
  getConfig(tenant: string, ctx: AdminContext): ConfigAnswer
  putConfig(tenant: string, document: JsonInput, ctx: AdminContext, opts?: PutOptions): ConfigWriteAnswer
  getRules(tenant: string, ctx: AdminContext): RulesAnswer
  putRules(tenant: string, document: JsonInput, ctx: AdminContext, opts?: PutOptions): RulesWriteAnswer
  listVersions(tenant: string, kind: DocKind, ctx: AdminContext): VersionList
  rollback(tenant: string, kind: DocKind, ctx: AdminContext, opts?: RollbackOptions): RollbackAnswer
  audit(tenant: string, ctx: AdminContext, opts?: AuditOptions): AuditPage
  verifyAudit(tenant: string, ctx: AdminContext, opts?: { head?: { id: number; hash: string } }): AuditVerification
  invalidate(tenant: string, targets: string[], ctx: AdminContext, opts?: { surface?: string }): InvalidateAnswer
  pinArtifacts(tenant: string, surface: string, ctx: AdminContext, opts: { manifest?: JsonInput; current?: JsonObject; ifMatch?: string }): ArtifactAdminAnswer
  unpinArtifacts(tenant: string, surface: string, ctx: AdminContext, opts?: { ifMatch?: string }): ArtifactAdminAnswer
  releaseHeld(tenant: string, surface: string, ctx: AdminContext): ArtifactAdminAnswer
  /** Reconciles with the store (`admin.sync`): `{tenants: [report...]}`. */
  sync(now: string, opts?: { tenant?: string; kinds?: Array<'config' | 'rules' | 'artifacts' | 'cache'>; revision?: number }): JsonObject
  /** Per tenant: revision reconciled, store revision, behind, last sync, lag, served versions. */
  syncStatus(now: string): JsonObject
}

/** A host read as the loader expects it. */
export type FetchResult = { found: string } | { not_found: true } | { error: string }

export type DocKind = 'config' | 'rules'

/** Who calls an admin operation; a principal acts on its own tenant only. */
export interface Principal {
  subject: string
  tenant: string
  /** Role names (`viewer` reads; `operator` / `admin` write), or one comma/space separated string. */
  roles: string[] | string
  /** `user` (default), `api_key`, `service`, ... */
  type?: string
}

/** The host context of an admin call: the core reads no clock. */
export interface AdminContext {
  /** RFC 3339. */
  now: string
  requestId?: string
  principal: Principal
}

export interface PutOptions {
  /** An HTTP If-Match value: the current version, quoted or not, `W/` allowed. */
  ifMatch?: string
  comment?: string
}
export interface RollbackOptions extends PutOptions {
  /** The version (ETag) to make current; the previous version when omitted. */
  to?: string
}
export interface AuditOptions {
  /** 1..max (default 100 in the core). */
  limit?: number
  /** `next_cursor` of the previous page. */
  cursor?: string
  /** Reference-style keyset paging: `next_before` / `next_before_id` of the previous page (not with `cursor`). */
  before?: string
  beforeId?: number
}

export interface ConfigAnswer {
  tenant_id: string
  config_version: string
  config: unknown
}
export interface ConfigWriteAnswer extends ConfigAnswer {
  /** False for a no-op put (the document is already current). */
  changed: boolean
  /** Snapshots recompiled with the new document. */
  recompiled?: number
}
export interface RulesAnswer {
  tenant_id: string
  rules_version: string
  rules: unknown
}
export interface RulesWriteAnswer extends RulesAnswer {
  changed: boolean
  recompiled?: number
}
export interface VersionInfo {
  version: string
  created_at: string
  created_by: string
  comment?: string
  current: boolean
}
export interface VersionList {
  tenant_id: string
  kind: DocKind
  current_version: string | null
  previous_version: string | null
  versions: VersionInfo[]
}
export interface RollbackAnswer {
  tenant_id: string
  kind: DocKind
  config_version?: string
  rules_version?: string
  from_version: string | null
  changed: boolean
  config?: unknown
  rules?: unknown
  recompiled?: number
}
/** One audit entry (the reference's flat fields plus the hash chain); the states are omitted for viewers. */
export interface AuditEntryObject {
  id: number
  occurred_at: string
  tenant_id: string
  actor_sub: string
  actor_type: string
  action: string
  entity_type: string
  entity_id: string | null
  request_id: string | null
  before_state?: unknown
  after_state?: unknown
  extra?: unknown
  prev_hash: string | null
  hash: string
}
export interface AuditPage {
  entries: AuditEntryObject[]
  next_cursor?: string
  /** With `next_before_id`: the key of the page's last entry, for reference-style paging. */
  next_before?: string
  next_before_id?: number
}
export interface AuditVerification {
  tenant_id: string
  ok: boolean
  entries: number
  head_hash: string | null
  tampered_at?: number
  reason?: 'hash_mismatch' | 'broken_link' | 'out_of_order' | 'tenant_mismatch'
  pointer_mismatches?: { kind: DocKind; pointer: string | null; audited: string | null }[]
}
export interface InvalidateAnswer {
  tenant_id: string
  targets: string[]
  surface?: string
  status: 'applied'
  invalidated: { [target: string]: number }
}
export interface ArtifactAdminAnswer {
  audit_id: number
  [member: string]: unknown
}

// --- host adapters ---------------------------------------------------------------------
//
// Plain objects whose methods the engine calls synchronously, on the JS thread, from inside
// a synchronous engine call. During an `*Async` call metrics and exposure events are
// buffered and delivered when its promise settles; an async call that needs the document
// store is refused with AdapterError RECSYS_ADAPTER_SYNC_ONLY. Adapters must not call the
// engine they serve (AdapterError RECSYS_ADAPTER_REENTRANT).

export interface Adapters {
  /** The control plane's storage (default: the core's in-memory store). */
  store?: DocumentStore | null
  /** Also receives every metric the built-in registry records (engine option `metrics: true`). */
  metrics?: MetricsAdapter | null
  /** Receives exposure events instead of the in-engine queue (engine option `exposure`). */
  exposureSink?: ExposureSink | null
}

/** The current pointer of (tenant, kind). */
export interface Pointer {
  etag: string
  previous: string | null
  updatedAt: string
  updatedBy: string
  /** The id of the audit entry that recorded the move: higher = newer. */
  revision: number
}
/** An immutable, content-addressed version: keep all members as given. */
export interface StoredVersion {
  etag: string
  canonicalText: string
  /** The document text as first written. */
  document: string
  createdAt: string
  createdBy: string
  comment: string | null
}
export interface PointerSwap {
  kind: DocKind
  expected: string | null
  newEtag: string
  /** When not null, the pointer's revision must equal it too (releases set it). */
  expectedRevision: number | null
  by: string
  at: string
}
/** A sealed audit entry: keep it as returned by `AuditDraft.seal` (`json` is the exact entry text). */
export interface StoredAuditEntry {
  id: number
  tenant: string
  occurredAt: string
  /** Fixed-width string ordered like `occurredAt`: list order is (timeKey, id). */
  timeKey: string
  action: string
  prevHash: string | null
  hash: string
  json: string
}
/** The listing key: entries strictly below (timeKey, id). */
export interface AuditKey {
  occurredAt: string
  timeKey: string
  id: number
}
/** An audit entry before the store assigns its id; `seal` chains it (hash computed in the core). */
export declare class AuditDraft {
  private constructor()
  readonly tenant: string
  readonly occurredAt: string
  readonly timeKey: string
  readonly action: string
  /** Call inside the atomic step that assigns `id` (greater than every id before) and reads the tenant's last hash. */
  seal(id: number, prevHash: string | null): StoredAuditEntry
}

/**
 * The host's storage, with the semantics of `MemoryStore` (see there). Each method is one
 * atomic step; throw `DocumentStoreError` to report a failure of a given kind.
 */
export interface DocumentStore {
  current(tenant: string, kind: DocKind): Pointer | null
  getVersion(tenant: string, kind: DocKind, etag: string): StoredVersion | null
  /** Stores the version unless its ETag exists; true when inserted. */
  putVersion(tenant: string, kind: DocKind, version: StoredVersion): boolean
  /** Oldest first. */
  listVersions(tenant: string, kind: DocKind): StoredVersion[]
  /** If the pointer equals `swap.expected` and `swap.newEtag` is stored: move it, append the sealed draft, return the entry; else null. */
  compareAndSwap(tenant: string, swap: PointerSwap, draft: AuditDraft): StoredAuditEntry | null
  /**
   * Releases need it: every swap checked (etag, and `expectedRevision` when set) and every
   * `newEtag` stored, then every pointer moved (a guard swap, `newEtag === expected`, only
   * re-stamped) with the entry's id as revision and the sealed draft appended, in one atomic
   * step; else nothing changes and null. Without it, releases answer a store error.
   */
  compareAndSwapAll?(tenant: string, swaps: PointerSwap[], draft: AuditDraft): StoredAuditEntry | null
  appendAudit(tenant: string, draft: AuditDraft): StoredAuditEntry
  /** Up to `limit` entries below `before` (all when null), newest (timeKey, id) first. */
  listAudit(tenant: string, before: AuditKey | null, limit: number): StoredAuditEntry[]
  /** Up to `limit` entries with id > afterId (all when null), by id ascending. */
  auditChain(tenant: string, afterId: number | null, limit: number): StoredAuditEntry[]
  /** The id of the tenant's last change (an entry whose action is in CHANGE_ACTIONS), 0 when none. */
  revision(tenant: string): number
  /** Up to `limit` changes with id > since, by id ascending: the change feed. */
  changesSince(tenant: string, since: number, limit: number): StoredAuditEntry[]
}

/** The audit actions that make up the change feed. */
export declare const CHANGE_ACTIONS: readonly string[]

export type StoreErrorKind = 'unavailable' | 'conflict' | 'corrupt' | 'other'
/** Thrown by a document store: `unavailable` → RECSYS_STORE_UNAVAILABLE (503), `conflict` → retried, then 409, ... */
export declare class DocumentStoreError extends Error {
  constructor(kind: StoreErrorKind, message: string)
  readonly kind: StoreErrorKind
}

/** The reference document store in JS (in memory), answering exactly like the core's. */
export declare class MemoryStore implements DocumentStore {
  constructor()
  current(tenant: string, kind: DocKind): Pointer | null
  getVersion(tenant: string, kind: DocKind, etag: string): StoredVersion | null
  putVersion(tenant: string, kind: DocKind, version: StoredVersion): boolean
  listVersions(tenant: string, kind: DocKind): StoredVersion[]
  compareAndSwap(tenant: string, swap: PointerSwap, draft: AuditDraft): StoredAuditEntry | null
  appendAudit(tenant: string, draft: AuditDraft): StoredAuditEntry
  listAudit(tenant: string, before: AuditKey | null, limit: number): StoredAuditEntry[]
  auditChain(tenant: string, afterId: number | null, limit: number): StoredAuditEntry[]
  revision(tenant: string): number
  changesSince(tenant: string, since: number, limit: number): StoredAuditEntry[]
}

export type Labels = { [label: string]: string }
/** Metric names and labels are those of the built-in registry (see docs/operations.md). */
export interface MetricsAdapter {
  counter(name: string, labels: Labels, delta: number): void
  histogram(name: string, labels: Labels, value: number): void
  gauge(name: string, labels: Labels, value: number): void
}
/** Receives each encoded exposure event; a throw counts the event as failed. May return a promise (not awaited). */
export interface ExposureSink {
  emit(event: JsonObject): void | Promise<void>
}

/** A host artifact reader: the object at `uri`, null when absent; throws/rejects on I/O failure. */
export type Reader = (uri: string) => string | Uint8Array | null | Promise<string | Uint8Array | null>

/** Lower-case hex SHA-256 of the document's canonical (PostgreSQL jsonb) text. */
export declare function etag(doc: string | Uint8Array): string
/** The canonical (PostgreSQL jsonb) text of a document. */
export declare function canonicalize(doc: string | Uint8Array): string
/** Runs a stateless operation (`etag`, `canonicalize`, `conformance_split`, ...). */
export declare function callStatic(op: string, input: string): string
/** Names of the stateless operations. */
export declare const STATIC_OPS: readonly string[]
