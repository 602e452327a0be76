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
  /** `options`: engine options as an object or JSON text; omitted for the defaults. */
  constructor(options?: JsonInput | null)

  /** Runs `op` with a JSON input text; returns the JSON answer text. Any op name is forwarded. */
  call(op: string, input: string): string
  callAsync(op: string, input: string, signal?: AbortSignal | null): Promise<string>
  /** Runs `op` with an object (or JSON text); returns the answer parsed. */
  callObject(op: string, input: JsonInput): JsonObject
  callObjectAsync(op: string, input: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

  /** Compiles and installs a snapshot from `{tenant, surface, config, rules, manifest, artifacts}`. */
  loadSnapshotJson(documents: string): string
  loadSnapshot(documents: JsonInput): JsonObject
  loadSnapshotJsonAsync(documents: string, signal?: AbortSignal | null): Promise<string>
  loadSnapshotAsync(documents: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

  /** `ctx` carries `now` (RFC 3339), `request_id` and `tenant`. */
  recommendJson(request: string, ctx: string): string
  recommend(request: JsonInput, ctx: JsonInput): JsonObject
  recommendJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  recommendAsync(request: JsonInput, ctx: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

  validateJson(request: string, ctx: string): string
  validate(request: JsonInput, ctx: JsonInput): JsonObject
  validateJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  validateAsync(request: JsonInput, ctx: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

  similarJson(request: string, ctx: string): string
  similar(request: JsonInput, ctx: JsonInput): JsonObject
  similarJsonAsync(request: string, ctx: string, signal?: AbortSignal | null): Promise<string>
  similarAsync(request: JsonInput, ctx: JsonInput, signal?: AbortSignal | null): Promise<JsonObject>

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
  /** Refreshes every tracked surface due at `now` with the host's reader; one report per surface. */
  refreshDue(now: string, read: Reader): Promise<JsonObject[]>
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
