//! Errors shared across operation families: the one [`ErrorCode`] table that gives every stable
//! code its HTTP status and [`ErrorKind`], the [`Problem`] list used by validation, and the
//! [`ApiError`] every binding converts into its own exception type. Each operation family has
//! its own `thiserror` enum next to the code that raises it; all of them convert into
//! `ApiError` through an `ErrorCode`, so no code is paired with a status anywhere else.

use crate::json::{Map, Value};
use std::fmt;

/// What kind of failure an error is, for callers that branch on it
/// (`match err.kind() { ErrorKind::SnapshotNotFound => .., _ => .. }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input (request, context, options, json) is malformed or unacceptable.
    InvalidRequest,
    /// A document (config, rules, experiments, profile) was refused.
    InvalidDocument,
    /// An artifact failed parsing, validation, its hash or a size limit.
    InvalidArtifact,
    /// No snapshot is loaded for the tenant and surface.
    SnapshotNotFound,
    /// Something else the caller named does not exist.
    NotFound,
    /// The state moved underneath the caller (versions, pointers, pending work).
    Conflict,
    /// No or bad credentials.
    Unauthenticated,
    /// Credentials that do not allow the operation.
    Forbidden,
    /// Too much load; retry later.
    Overloaded,
    /// A host store could not be reached or read; retry later.
    Unavailable,
    /// An unexpected failure.
    Internal,
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $status:literal, $kind:ident;)*) => {
        /// Every stable error and problem code, with its HTTP status and [`ErrorKind`]. This
        /// table is the only place a code meets its status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The stable machine-readable code (`RECSYS_...`).
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $code,)*
                }
            }

            /// The HTTP status a host answers with. For a code that appears only inside a
            /// problem list, the status of the error that carries it.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$name => $status,)*
                }
            }

            /// What kind of failure the code stands for.
            pub const fn kind(self) -> ErrorKind {
                match self {
                    $(ErrorCode::$name => ErrorKind::$kind,)*
                }
            }
        }
    };
}

error_codes! {
    /// `RECSYS_INVALID_REQUEST` (400): a malformed or invalid operation input.
    InvalidRequest = "RECSYS_INVALID_REQUEST", 400, InvalidRequest;
    /// `RECSYS_UNPROCESSABLE_ENTITY` (422): a well-formed request with unacceptable values.
    UnprocessableEntity = "RECSYS_UNPROCESSABLE_ENTITY", 422, InvalidRequest;
    /// `RECSYS_INVALID_CONTEXT` (400): a malformed call context (`ctx`).
    InvalidContext = "RECSYS_INVALID_CONTEXT", 400, InvalidRequest;
    /// `RECSYS_INVALID_CASE` (400): a malformed conformance case.
    InvalidCase = "RECSYS_INVALID_CASE", 400, InvalidRequest;
    /// `RECSYS_INVALID_TEMPLATE` (400): an invalid artifact uri template.
    InvalidTemplate = "RECSYS_INVALID_TEMPLATE", 400, InvalidRequest;
    /// `RECSYS_INVALID_DOCUMENTS` (400): a malformed document bundle.
    InvalidDocuments = "RECSYS_INVALID_DOCUMENTS", 400, InvalidRequest;
    /// `RECSYS_INVALID_OPTIONS` (400): invalid engine options.
    InvalidOptions = "RECSYS_INVALID_OPTIONS", 400, InvalidRequest;
    /// `RECSYS_INVALID_PATH_SEGMENT` (400): a tenant or surface that is not a safe path segment.
    InvalidPathSegment = "RECSYS_INVALID_PATH_SEGMENT", 400, InvalidRequest;
    /// `RECSYS_INVALID_TENANT` (400): an empty or unsafe tenant id.
    InvalidTenant = "RECSYS_INVALID_TENANT", 400, InvalidRequest;
    /// `RECSYS_INVALID_CURSOR` (400): an audit cursor this core did not issue.
    InvalidCursor = "RECSYS_INVALID_CURSOR", 400, InvalidRequest;
    /// `RECSYS_INVALID_TARGETS` (422): no or unknown cache invalidation targets (400 when none is given).
    InvalidTargets = "RECSYS_INVALID_TARGETS", 422, InvalidRequest;
    /// `RECSYS_INVALID_TARGET` (422): problem: one unknown invalidation target.
    InvalidTarget = "RECSYS_INVALID_TARGET", 422, InvalidRequest;
    /// `RECSYS_UNKNOWN_OPERATION` (400): an operation name this core does not know.
    UnknownOperation = "RECSYS_UNKNOWN_OPERATION", 400, InvalidRequest;
    /// `RECSYS_INVALID_SIGNALS` (400): malformed inline signals.
    InvalidSignals = "RECSYS_INVALID_SIGNALS", 400, InvalidRequest;
    /// `RECSYS_SIGNAL_BAD_ID` (400): problem: a signal row with a blank id.
    SignalBadId = "RECSYS_SIGNAL_BAD_ID", 400, InvalidRequest;
    /// `RECSYS_SIGNAL_BAD_SCORE` (400): problem: a signal score that is not a finite non-negative number.
    SignalBadScore = "RECSYS_SIGNAL_BAD_SCORE", 400, InvalidRequest;
    /// `RECSYS_SIGNAL_WRONG_TYPE` (400): problem: a signal member of the wrong json type.
    SignalWrongType = "RECSYS_SIGNAL_WRONG_TYPE", 400, InvalidRequest;
    /// `RECSYS_SIGNAL_TOO_MANY` (400): problem: more signal rows than the limit.
    SignalTooMany = "RECSYS_SIGNAL_TOO_MANY", 400, InvalidRequest;
    /// `RECSYS_SIGNAL_UNKNOWN` (400): problem: an unknown signal name.
    SignalUnknown = "RECSYS_SIGNAL_UNKNOWN", 400, InvalidRequest;
    /// `RECSYS_JSON_SYNTAX` (400): json: a syntax error.
    JsonSyntax = "RECSYS_JSON_SYNTAX", 400, InvalidRequest;
    /// `RECSYS_JSON_INVALID_UTF8` (400): json: bytes that are not utf-8.
    JsonInvalidUtf8 = "RECSYS_JSON_INVALID_UTF8", 400, InvalidRequest;
    /// `RECSYS_JSON_NUL_CHARACTER` (400): json: a nul character in a string.
    JsonNulCharacter = "RECSYS_JSON_NUL_CHARACTER", 400, InvalidRequest;
    /// `RECSYS_JSON_LONE_SURROGATE` (400): json: an unpaired utf-16 surrogate escape.
    JsonLoneSurrogate = "RECSYS_JSON_LONE_SURROGATE", 400, InvalidRequest;
    /// `RECSYS_JSON_TOO_DEEP` (400): json: nesting deeper than the limit.
    JsonTooDeep = "RECSYS_JSON_TOO_DEEP", 400, InvalidRequest;
    /// `RECSYS_JSON_TOO_LARGE` (400): json: more bytes than the limit (413 for documents).
    JsonTooLarge = "RECSYS_JSON_TOO_LARGE", 400, InvalidRequest;
    /// `RECSYS_JSON_TOO_MANY_MEMBERS` (400): json: more members than the limit.
    JsonTooManyMembers = "RECSYS_JSON_TOO_MANY_MEMBERS", 400, InvalidRequest;
    /// `RECSYS_JSON_NUMBER_TOO_LONG` (400): json: a number literal longer than the limit.
    JsonNumberTooLong = "RECSYS_JSON_NUMBER_TOO_LONG", 400, InvalidRequest;
    /// `RECSYS_JSON_TRAILING_DATA` (400): json: data after the value.
    JsonTrailingData = "RECSYS_JSON_TRAILING_DATA", 400, InvalidRequest;
    /// `RECSYS_JSON_EMPTY` (400): json: no value at all.
    JsonEmpty = "RECSYS_JSON_EMPTY", 400, InvalidRequest;
    /// `RECSYS_INVALID_CONFIG` (422): an invalid config document (400 unparseable, 413 oversized).
    InvalidConfig = "RECSYS_INVALID_CONFIG", 422, InvalidDocument;
    /// `RECSYS_CONFIG_NOT_OBJECT` (422): problem: a config member that must be an object.
    ConfigNotObject = "RECSYS_CONFIG_NOT_OBJECT", 422, InvalidDocument;
    /// `RECSYS_CONFIG_WRONG_TYPE` (422): problem: a config member of the wrong json type.
    ConfigWrongType = "RECSYS_CONFIG_WRONG_TYPE", 422, InvalidDocument;
    /// `RECSYS_CONFIG_UNKNOWN_ALGO` (422): problem: an unknown algorithm name.
    ConfigUnknownAlgo = "RECSYS_CONFIG_UNKNOWN_ALGO", 422, InvalidDocument;
    /// `RECSYS_CONFIG_NEGATIVE_WEIGHT` (422): problem: a negative weight.
    ConfigNegativeWeight = "RECSYS_CONFIG_NEGATIVE_WEIGHT", 422, InvalidDocument;
    /// `RECSYS_CONFIG_WEIGHT_TOO_LARGE` (422): problem: a weight above the maximum.
    ConfigWeightTooLarge = "RECSYS_CONFIG_WEIGHT_TOO_LARGE", 422, InvalidDocument;
    /// `RECSYS_CONFIG_BAD_LIMIT` (422): problem: a limit out of range.
    ConfigBadLimit = "RECSYS_CONFIG_BAD_LIMIT", 422, InvalidDocument;
    /// `RECSYS_CONFIG_BAD_DIVERSITY` (422): problem: a diversity setting out of range.
    ConfigBadDiversity = "RECSYS_CONFIG_BAD_DIVERSITY", 422, InvalidDocument;
    /// `RECSYS_CONFIG_BAD_SURFACE` (422): problem: an invalid surface entry.
    ConfigBadSurface = "RECSYS_CONFIG_BAD_SURFACE", 422, InvalidDocument;
    /// `RECSYS_CONFIG_UNKNOWN_FIELD` (422): problem: an unknown config member.
    ConfigUnknownField = "RECSYS_CONFIG_UNKNOWN_FIELD", 422, InvalidDocument;
    /// `RECSYS_INVALID_RULES` (422): an invalid rules document (400 empty or unparseable, 413 oversized).
    InvalidRules = "RECSYS_INVALID_RULES", 422, InvalidDocument;
    /// `RECSYS_RULES_TOO_MANY` (422): more rules than the limit.
    RulesTooMany = "RECSYS_RULES_TOO_MANY", 422, InvalidDocument;
    /// `RECSYS_RULES_NOT_CONTAINER` (422): problem: a rules document that is neither a list nor an envelope.
    RulesNotContainer = "RECSYS_RULES_NOT_CONTAINER", 422, InvalidDocument;
    /// `RECSYS_RULES_AMBIGUOUS_ENVELOPE` (422): problem: an envelope with both rule lists.
    RulesAmbiguousEnvelope = "RECSYS_RULES_AMBIGUOUS_ENVELOPE", 422, InvalidDocument;
    /// `RECSYS_RULE_NOT_OBJECT` (422): problem: a rule that is not an object.
    RuleNotObject = "RECSYS_RULE_NOT_OBJECT", 422, InvalidDocument;
    /// `RECSYS_RULE_MISSING_ACTION` (422): problem: a rule without an action.
    RuleMissingAction = "RECSYS_RULE_MISSING_ACTION", 422, InvalidDocument;
    /// `RECSYS_RULE_UNKNOWN_ACTION` (422): problem: an unknown rule action.
    RuleUnknownAction = "RECSYS_RULE_UNKNOWN_ACTION", 422, InvalidDocument;
    /// `RECSYS_RULE_UNKNOWN_TARGET_TYPE` (422): problem: an unknown rule target type.
    RuleUnknownTargetType = "RECSYS_RULE_UNKNOWN_TARGET_TYPE", 422, InvalidDocument;
    /// `RECSYS_RULE_MISSING_TARGET` (422): problem: a rule without a target.
    RuleMissingTarget = "RECSYS_RULE_MISSING_TARGET", 422, InvalidDocument;
    /// `RECSYS_RULE_TOO_MANY_ITEM_IDS` (422): problem: more item ids than a rule may list.
    RuleTooManyItemIds = "RECSYS_RULE_TOO_MANY_ITEM_IDS", 422, InvalidDocument;
    /// `RECSYS_RULE_WRONG_TYPE` (422): problem: a rule member of the wrong json type.
    RuleWrongType = "RECSYS_RULE_WRONG_TYPE", 422, InvalidDocument;
    /// `RECSYS_RULE_BAD_NUMBER` (422): problem: a rule number out of range.
    RuleBadNumber = "RECSYS_RULE_BAD_NUMBER", 422, InvalidDocument;
    /// `RECSYS_RULE_BAD_TIME` (422): problem: a rule time that is not RFC 3339.
    RuleBadTime = "RECSYS_RULE_BAD_TIME", 422, InvalidDocument;
    /// `RECSYS_RULE_EMPTY_WINDOW` (422): problem: a rule window that ends before it starts.
    RuleEmptyWindow = "RECSYS_RULE_EMPTY_WINDOW", 422, InvalidDocument;
    /// `RECSYS_RULE_BAD_UUID` (422): problem: a malformed uuid.
    RuleBadUuid = "RECSYS_RULE_BAD_UUID", 422, InvalidDocument;
    /// `RECSYS_RULE_MISSING_BOOST_VALUE` (422): problem: a boost without a value.
    RuleMissingBoostValue = "RECSYS_RULE_MISSING_BOOST_VALUE", 422, InvalidDocument;
    /// `RECSYS_RULE_DISABLED` (422): problem: a disabled rule.
    RuleDisabled = "RECSYS_RULE_DISABLED", 422, InvalidDocument;
    /// `RECSYS_RULE_UNKNOWN_KEY` (422): problem: an unknown rule member.
    RuleUnknownKey = "RECSYS_RULE_UNKNOWN_KEY", 422, InvalidDocument;
    /// `RECSYS_RULE_IGNORED_FIELD` (422): problem: a member the reference ignores.
    RuleIgnoredField = "RECSYS_RULE_IGNORED_FIELD", 422, InvalidDocument;
    /// `RECSYS_RULE_DUPLICATE_KEY` (422): problem: a member given twice.
    RuleDuplicateKey = "RECSYS_RULE_DUPLICATE_KEY", 422, InvalidDocument;
    /// `RECSYS_RULE_ID_NOT_UUID` (422): problem: a rule id that is not a uuid.
    RuleIdNotUuid = "RECSYS_RULE_ID_NOT_UUID", 422, InvalidDocument;
    /// `RECSYS_RULE_DUPLICATE_ID` (422): problem: two rules with one id.
    RuleDuplicateId = "RECSYS_RULE_DUPLICATE_ID", 422, InvalidDocument;
    /// `RECSYS_INVALID_EXPERIMENT` (422): an invalid experiments document.
    InvalidExperiment = "RECSYS_INVALID_EXPERIMENT", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_WRONG_TYPE` (422): problem: an experiment member of the wrong json type.
    ExperimentWrongType = "RECSYS_EXPERIMENT_WRONG_TYPE", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_UNKNOWN_FIELD` (422): problem: an unknown experiment member.
    ExperimentUnknownField = "RECSYS_EXPERIMENT_UNKNOWN_FIELD", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_MISSING_ID` (422): problem: an experiment without an id.
    ExperimentMissingId = "RECSYS_EXPERIMENT_MISSING_ID", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_DUPLICATE_ID` (422): problem: two experiments with one id.
    ExperimentDuplicateId = "RECSYS_EXPERIMENT_DUPLICATE_ID", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_BAD_VARIANT` (422): problem: an invalid variant.
    ExperimentBadVariant = "RECSYS_EXPERIMENT_BAD_VARIANT", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_DUPLICATE_VARIANT` (422): problem: two variants with one name.
    ExperimentDuplicateVariant = "RECSYS_EXPERIMENT_DUPLICATE_VARIANT", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_BAD_PERCENT` (422): problem: a traffic percentage out of range.
    ExperimentBadPercent = "RECSYS_EXPERIMENT_BAD_PERCENT", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_BAD_WEIGHT` (422): problem: an invalid variant weight.
    ExperimentBadWeight = "RECSYS_EXPERIMENT_BAD_WEIGHT", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_BAD_TIME` (422): problem: an experiment time that is not RFC 3339.
    ExperimentBadTime = "RECSYS_EXPERIMENT_BAD_TIME", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_EMPTY_WINDOW` (422): problem: an experiment window that ends before it starts.
    ExperimentEmptyWindow = "RECSYS_EXPERIMENT_EMPTY_WINDOW", 422, InvalidDocument;
    /// `RECSYS_EXPERIMENT_BAD_OVERRIDE` (422): problem: an invalid variant override.
    ExperimentBadOverride = "RECSYS_EXPERIMENT_BAD_OVERRIDE", 422, InvalidDocument;
    /// `RECSYS_INVALID_PROFILE` (422): an invalid deployment profile.
    InvalidProfile = "RECSYS_INVALID_PROFILE", 422, InvalidDocument;
    /// `RECSYS_PROFILE_WRONG_TYPE` (422): problem: a profile member of the wrong json type.
    ProfileWrongType = "RECSYS_PROFILE_WRONG_TYPE", 422, InvalidDocument;
    /// `RECSYS_PROFILE_UNKNOWN_FIELD` (422): problem: an unknown profile member.
    ProfileUnknownField = "RECSYS_PROFILE_UNKNOWN_FIELD", 422, InvalidDocument;
    /// `RECSYS_PROFILE_BAD_VALUE` (422): problem: a profile value out of range.
    ProfileBadValue = "RECSYS_PROFILE_BAD_VALUE", 422, InvalidDocument;
    /// `RECSYS_PROFILE_MISSING_SALT` (422): problem: a profile without its salt.
    ProfileMissingSalt = "RECSYS_PROFILE_MISSING_SALT", 422, InvalidDocument;
    /// `RECSYS_PROFILE_MISSING_SECRET` (422): problem: a profile without its secret.
    ProfileMissingSecret = "RECSYS_PROFILE_MISSING_SECRET", 422, InvalidDocument;
    /// `RECSYS_PROFILE_DEV_AUTH` (422): problem: development auth in production.
    ProfileDevAuth = "RECSYS_PROFILE_DEV_AUTH", 422, InvalidDocument;
    /// `RECSYS_PROFILE_HASHING_OFF` (422): problem: key hashing switched off in production.
    ProfileHashingOff = "RECSYS_PROFILE_HASHING_OFF", 422, InvalidDocument;
    /// `RECSYS_INVALID_EXPOSURE` (422): an invalid exposure event.
    InvalidExposure = "RECSYS_INVALID_EXPOSURE", 422, InvalidRequest;
    /// `RECSYS_EXPOSURE_WRONG_TYPE` (422): problem: an exposure member of the wrong json type.
    ExposureWrongType = "RECSYS_EXPOSURE_WRONG_TYPE", 422, InvalidRequest;
    /// `RECSYS_EXPOSURE_UNKNOWN_FIELD` (422): problem: an unknown exposure member.
    ExposureUnknownField = "RECSYS_EXPOSURE_UNKNOWN_FIELD", 422, InvalidRequest;
    /// `RECSYS_EXPOSURE_BAD_VALUE` (422): problem: an exposure value out of range.
    ExposureBadValue = "RECSYS_EXPOSURE_BAD_VALUE", 422, InvalidRequest;
    /// `RECSYS_EXPOSURE_SINK_FAILED` (500): the host"s exposure sink failed.
    ExposureSinkFailed = "RECSYS_EXPOSURE_SINK_FAILED", 500, Internal;
    /// `RECSYS_INVALID_API_KEY_SECRETS` (422): an api key verifier with a bad secret list.
    InvalidApiKeySecrets = "RECSYS_INVALID_API_KEY_SECRETS", 422, InvalidRequest;
    /// `RECSYS_LINT_FAILED` (422): a write refused by strict lint.
    LintFailed = "RECSYS_LINT_FAILED", 422, InvalidDocument;
    /// `RECSYS_ARTIFACT_INCOMPATIBLE` (422): an artifact that failed parsing, validation or its hash.
    ArtifactIncompatible = "RECSYS_ARTIFACT_INCOMPATIBLE", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_TOO_LARGE` (413): an artifact over a size limit.
    ArtifactTooLarge = "RECSYS_ARTIFACT_TOO_LARGE", 413, InvalidArtifact;
    /// `RECSYS_ARTIFACT_INVALID_JSON` (422): problem: artifact bytes that are not valid json.
    ArtifactInvalidJson = "RECSYS_ARTIFACT_INVALID_JSON", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_UNSUPPORTED_VERSION` (422): problem: an artifact format version this core does not read.
    ArtifactUnsupportedVersion = "RECSYS_ARTIFACT_UNSUPPORTED_VERSION", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_KIND_MISMATCH` (422): problem: an artifact of another kind than expected.
    ArtifactKindMismatch = "RECSYS_ARTIFACT_KIND_MISMATCH", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_UNKNOWN_KIND` (422): problem: an unknown artifact kind.
    ArtifactUnknownKind = "RECSYS_ARTIFACT_UNKNOWN_KIND", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_MISSING_FIELD` (422): problem: a required artifact member is missing.
    ArtifactMissingField = "RECSYS_ARTIFACT_MISSING_FIELD", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_WRONG_TYPE` (422): problem: an artifact member of the wrong json type.
    ArtifactWrongType = "RECSYS_ARTIFACT_WRONG_TYPE", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_INVALID_WINDOW` (422): problem: an artifact window that ends before it starts.
    ArtifactInvalidWindow = "RECSYS_ARTIFACT_INVALID_WINDOW", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_INVALID_TIMESTAMP` (422): problem: an artifact time that is not RFC 3339.
    ArtifactInvalidTimestamp = "RECSYS_ARTIFACT_INVALID_TIMESTAMP", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_EMPTY_ID` (422): problem: a blank id in an artifact.
    ArtifactEmptyId = "RECSYS_ARTIFACT_EMPTY_ID", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_NEGATIVE_COUNT` (422): problem: a negative count.
    ArtifactNegativeCount = "RECSYS_ARTIFACT_NEGATIVE_COUNT", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_NEGATIVE_SCORE` (422): problem: a negative score.
    ArtifactNegativeScore = "RECSYS_ARTIFACT_NEGATIVE_SCORE", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_LIMIT_EXCEEDED` (413): problem: an artifact list over its limit.
    ArtifactLimitExceeded = "RECSYS_ARTIFACT_LIMIT_EXCEEDED", 413, InvalidArtifact;
    /// `RECSYS_ARTIFACT_HASH_MISMATCH` (422): problem: artifact bytes whose hash differs from the manifest.
    ArtifactHashMismatch = "RECSYS_ARTIFACT_HASH_MISMATCH", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_VERSION_MISMATCH` (422): problem: an artifact version other than the manifest"s.
    ArtifactVersionMismatch = "RECSYS_ARTIFACT_VERSION_MISMATCH", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_TENANT_MISMATCH` (422): problem: an artifact of another tenant.
    ArtifactTenantMismatch = "RECSYS_ARTIFACT_TENANT_MISMATCH", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_SURFACE_MISMATCH` (422): problem: an artifact of another surface.
    ArtifactSurfaceMismatch = "RECSYS_ARTIFACT_SURFACE_MISMATCH", 422, InvalidArtifact;
    /// `RECSYS_ARTIFACT_URI_OUTSIDE_STORE` (400): an artifact uri outside the configured store.
    ArtifactUriOutsideStore = "RECSYS_ARTIFACT_URI_OUTSIDE_STORE", 400, InvalidRequest;
    /// `RECSYS_ARTIFACT_NOT_FOUND` (404): an artifact the store does not have.
    ArtifactNotFound = "RECSYS_ARTIFACT_NOT_FOUND", 404, NotFound;
    /// `RECSYS_ARTIFACT_UNREADABLE` (503): an artifact the store could not read.
    ArtifactUnreadable = "RECSYS_ARTIFACT_UNREADABLE", 503, Unavailable;
    /// `RECSYS_MANIFEST_NOT_FOUND` (404): a manifest the store does not have.
    ManifestNotFound = "RECSYS_MANIFEST_NOT_FOUND", 404, NotFound;
    /// `RECSYS_MANIFEST_UNREADABLE` (503): a manifest the store could not read.
    ManifestUnreadable = "RECSYS_MANIFEST_UNREADABLE", 503, Unavailable;
    /// `RECSYS_SNAPSHOT_NOT_FOUND` (404): no snapshot is loaded for the tenant and surface.
    SnapshotNotFound = "RECSYS_SNAPSHOT_NOT_FOUND", 404, SnapshotNotFound;
    /// `RECSYS_CONFIG_NOT_FOUND` (404): the tenant has no current config.
    ConfigNotFound = "RECSYS_CONFIG_NOT_FOUND", 404, NotFound;
    /// `RECSYS_RULES_NOT_FOUND` (404): the tenant has no current rules.
    RulesNotFound = "RECSYS_RULES_NOT_FOUND", 404, NotFound;
    /// `RECSYS_VERSION_NOT_FOUND` (404): a document version the tenant never stored.
    VersionNotFound = "RECSYS_VERSION_NOT_FOUND", 404, NotFound;
    /// `RECSYS_RELEASE_NOT_FOUND` (404): a release the tenant never made.
    ReleaseNotFound = "RECSYS_RELEASE_NOT_FOUND", 404, NotFound;
    /// `RECSYS_VERSION_MISMATCH` (409): If-Match did not name the current version.
    VersionMismatch = "RECSYS_VERSION_MISMATCH", 409, Conflict;
    /// `RECSYS_WRITE_CONFLICT` (409): a write lost the pointer race too often.
    WriteConflict = "RECSYS_WRITE_CONFLICT", 409, Conflict;
    /// `RECSYS_NO_PREVIOUS_VERSION` (409): a rollback with no previous version.
    NoPreviousVersion = "RECSYS_NO_PREVIOUS_VERSION", 409, Conflict;
    /// `RECSYS_NO_PREVIOUS_RELEASE` (409): a rollback with no previous release.
    NoPreviousRelease = "RECSYS_NO_PREVIOUS_RELEASE", 409, Conflict;
    /// `RECSYS_RELEASE_IF_MATCH_REQUIRED` (428): a manual artifact pin or unpin while a
    /// release is current, without the release id it changes (`if_match`).
    ReleaseIfMatchRequired = "RECSYS_RELEASE_IF_MATCH_REQUIRED", 428, Conflict;
    /// `RECSYS_LOADER_NOT_CONFIGURED` (400): a loader operation before the loader is configured.
    LoaderNotConfigured = "RECSYS_LOADER_NOT_CONFIGURED", 400, InvalidRequest;
    /// `RECSYS_LOADER_UNKNOWN_ARTIFACT` (409): an artifact the pending manifest does not name.
    LoaderUnknownArtifact = "RECSYS_LOADER_UNKNOWN_ARTIFACT", 409, Conflict;
    /// `RECSYS_LOADER_NO_PENDING_MANIFEST` (409): a loader step with no manifest pending.
    LoaderNoPendingManifest = "RECSYS_LOADER_NO_PENDING_MANIFEST", 409, Conflict;
    /// `RECSYS_ADAPTER_SYNC_ONLY` (409): an asynchronous host adapter where a synchronous one is needed.
    AdapterSyncOnly = "RECSYS_ADAPTER_SYNC_ONLY", 409, Conflict;
    /// `RECSYS_STORE_CONFLICT` (409): the store refused a conditional write.
    StoreConflict = "RECSYS_STORE_CONFLICT", 409, Conflict;
    /// `RECSYS_AUTH_INVALID` (401): an api key that does not verify.
    AuthInvalid = "RECSYS_AUTH_INVALID", 401, Unauthenticated;
    /// `RECSYS_AUTH_REQUIRED` (401): no credentials.
    AuthRequired = "RECSYS_AUTH_REQUIRED", 401, Unauthenticated;
    /// `RECSYS_FORBIDDEN` (403): another tenant"s data or roles that do not allow the operation.
    Forbidden = "RECSYS_FORBIDDEN", 403, Forbidden;
    /// `RECSYS_EXPLAIN_TOO_LARGE` (422): a full explain larger than the caller may ask for.
    ExplainTooLarge = "RECSYS_EXPLAIN_TOO_LARGE", 422, Forbidden;
    /// `RECSYS_OVERLOADED` (503): too many requests in flight.
    Overloaded = "RECSYS_OVERLOADED", 503, Overloaded;
    /// `RECSYS_STORE_UNAVAILABLE` (503): the store could not be reached.
    StoreUnavailable = "RECSYS_STORE_UNAVAILABLE", 503, Unavailable;
    /// `RECSYS_INTERNAL` (500): an unexpected failure (also a caught panic).
    Internal = "RECSYS_INTERNAL", 500, Internal;
    /// `RECSYS_STORE_CORRUPT` (500): a stored record this core cannot read.
    StoreCorrupt = "RECSYS_STORE_CORRUPT", 500, Internal;
    /// `RECSYS_STORE_ERROR` (500): any other store failure.
    StoreError = "RECSYS_STORE_ERROR", 500, Internal;
    /// `RECSYS_ADAPTER_REENTRANT` (500): a host adapter that called back into the engine.
    AdapterReentrant = "RECSYS_ADAPTER_REENTRANT", 500, Internal;
    /// `RECSYS_INVALID_ADAPTER` (400): a host adapter that returned a malformed value.
    InvalidAdapter = "RECSYS_INVALID_ADAPTER", 400, InvalidRequest;
    /// `RECSYS_FILE_UNREADABLE` (400): a file the command line could not read.
    FileUnreadable = "RECSYS_FILE_UNREADABLE", 400, InvalidRequest;
    /// `RECSYS_FFI_NULL_POINTER` (400): a NULL pointer passed over the C interface.
    FfiNullPointer = "RECSYS_FFI_NULL_POINTER", 400, InvalidRequest;
    /// `RECSYS_FFI_INVALID_HANDLE` (400): a handle the C interface did not issue.
    FfiInvalidHandle = "RECSYS_FFI_INVALID_HANDLE", 400, InvalidRequest;
    /// `RECSYS_FFI_INVALID_UTF8` (400): a C string that is not utf-8.
    FfiInvalidUtf8 = "RECSYS_FFI_INVALID_UTF8", 400, InvalidRequest;
    /// `RECSYS_PROBLEMS_TRUNCATED` (422): problem: stands for the problems left out of a capped list.
    ProblemsTruncated = "RECSYS_PROBLEMS_TRUNCATED", 422, InvalidRequest;
}

impl ErrorCode {
    /// The code whose [`code`](ErrorCode::code) string is `code`.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a payload was refused, for the document codes whose status depends on it
/// ([`ErrorCode::InvalidConfig`], [`ErrorCode::InvalidRules`], [`ErrorCode::InvalidTargets`]):
/// an empty or unparseable payload is malformed (400), an oversized one too large (413), a
/// parsed but invalid one invalid (422).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Empty, not json, not utf-8 (400).
    Malformed,
    /// Over a size limit (413).
    TooLarge,
    /// Parsed, but with problems (422).
    Invalid,
}

impl Refusal {
    /// The HTTP status of the refusal.
    pub const fn status(self) -> u16 {
        match self {
            Refusal::Malformed => 400,
            Refusal::TooLarge => 413,
            Refusal::Invalid => 422,
        }
    }
}

/// One validation finding: where, what (stable code), and a lower-case message quoting input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending field (`$.weights.pop`, `$[3].action`).
    pub path: String,
    /// Stable machine-readable code (`RECSYS_CONFIG_NEGATIVE_WEIGHT`, ...).
    pub code: &'static str,
    /// What is wrong, quoting the input.
    pub message: String,
}

impl Problem {
    /// A problem at `path` with a stable `code`.
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
    /// The problem as JSON (`{"path", "code", "message"}`).
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.push("path", Value::str(&self.path));
        m.push("code", Value::str(self.code));
        m.push("message", Value::str(&self.message));
        Value::Object(m)
    }
}

/// The most problems any error or report lists; the rest are summarised in one final
/// `RECSYS_PROBLEMS_TRUNCATED` entry, so 160 000 unknown members cannot make a 10 MB error.
pub const MAX_PROBLEMS: usize = 100;

/// Code of the entry that stands for the problems left out of a capped list.
pub const PROBLEMS_TRUNCATED: &str = ErrorCode::ProblemsTruncated.code();

/// `problems` cut to [`MAX_PROBLEMS`], with one entry saying how many more there were.
pub fn capped(mut problems: Vec<Problem>) -> Vec<Problem> {
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(truncated_note(more));
    }
    problems
}

fn truncated_note(more: usize) -> Problem {
    Problem::new(
        "$",
        PROBLEMS_TRUNCATED,
        format!("{more} more problems are not listed"),
    )
}

/// A problem list as JSON, capped like [`capped`] (for reports that keep the full list).
pub fn problems_value(problems: &[Problem]) -> Value {
    let shown = problems.len().min(MAX_PROBLEMS);
    let mut out: Vec<Value> = problems[..shown].iter().map(Problem::to_value).collect();
    if problems.len() > shown {
        out.push(truncated_note(problems.len() - shown).to_value());
    }
    Value::Array(out)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

/// The error every public call can return, already mapped to a stable code, the HTTP status a
/// host should answer with, a lower-case message and optional structured details. `code` and
/// `status` come from the [`ErrorCode`] it was made with (read them; do not assign them).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The stable code (`RECSYS_...`).
    pub code: &'static str,
    /// The HTTP status the code maps to.
    pub status: u16,
    /// What went wrong, quoting the input.
    pub message: String,
    /// Findings behind the error (validation problems), possibly empty.
    pub problems: Vec<Problem>,
    /// Extra machine-readable data (e.g. `current_version` for a version mismatch).
    pub extra: Option<Map>,
    error: ErrorCode,
}

impl ApiError {
    /// The most problems an error lists; beyond it, one more entry says how many were left
    /// out.
    pub const MAX_PROBLEMS: usize = MAX_PROBLEMS;

    /// An error with `code`'s status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::with_status(code, code.status(), message)
    }
    /// A refused payload: `code` with the status of `how` (see [`Refusal`]).
    pub(crate) fn refused(code: ErrorCode, how: Refusal, message: impl Into<String>) -> ApiError {
        ApiError::with_status(code, how.status(), message)
    }
    fn with_status(code: ErrorCode, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.code(),
            status,
            message: message.into(),
            problems: Vec::new(),
            extra: None,
            error: code,
        }
    }
    /// Attaches the problems behind the error, at most [`ApiError::MAX_PROBLEMS`] (beyond it,
    /// one more entry says how many were left out).
    pub fn with_problems(mut self, problems: Vec<Problem>) -> ApiError {
        self.problems = capped(problems);
        self
    }
    /// Adds a member to the error's JSON form.
    pub fn with_extra(mut self, key: &str, value: Value) -> ApiError {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value);
        self
    }
    /// The stable code string.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The stable code.
    pub fn error_code(&self) -> ErrorCode {
        self.error
    }
    /// What kind of failure this is, for matching.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }
    /// The HTTP status a host should answer with.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// `{"code", "status", "message", "problems"?, ...extra}` — the error object every binding
    /// and the conformance corpus compare.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("code", Value::str(self.code));
        m.push("status", Value::u64(self.status as u64));
        m.push("message", Value::str(&self.message));
        if !self.problems.is_empty() {
            m.push(
                "problems",
                Value::Array(self.problems.iter().map(Problem::to_value).collect()),
            );
        }
        if let Some(extra) = &self.extra {
            for (k, v) in extra.iter() {
                m.push(k.to_owned(), v.clone());
            }
        }
        Value::Object(m)
    }
    /// The error as JSON text.
    pub fn to_json(&self) -> String {
        crate::json::to_string(&self.to_value())
    }
    /// An unexpected failure (status 500). Bindings use it for caught panics.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Internal, message)
    }
}

impl From<crate::json::JsonError> for ApiError {
    fn from(e: crate::json::JsonError) -> ApiError {
        ApiError::new(e.kind.error_code(), format!("invalid json: {e}")).with_problems(vec![
            Problem::new(
                if e.path.is_empty() {
                    "$".to_string()
                } else {
                    e.path.clone()
                },
                e.code(),
                e.message.clone(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_prefixed_and_has_an_http_error_status() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "{} is listed twice", c.code());
            assert!(c.code().starts_with("RECSYS_"), "{c:?}");
            assert!(
                (400..600).contains(&c.status()),
                "{c:?} has status {}",
                c.status()
            );
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
        assert!(ErrorCode::ALL.len() > 130, "{}", ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_code("RECSYS_NOPE"), None);
    }

    #[test]
    fn an_error_takes_code_status_and_kind_from_its_code() {
        let e = ApiError::new(ErrorCode::SnapshotNotFound, "no snapshot for \"home\"");
        assert_eq!((e.code(), e.status()), ("RECSYS_SNAPSHOT_NOT_FOUND", 404));
        assert_eq!(e.kind(), ErrorKind::SnapshotNotFound);
        assert_eq!(e.error_code(), ErrorCode::SnapshotNotFound);
        let e = ApiError::refused(ErrorCode::InvalidConfig, Refusal::TooLarge, "too big");
        assert_eq!((e.code, e.status), ("RECSYS_INVALID_CONFIG", 413));
        assert_eq!(e.kind(), ErrorKind::InvalidDocument);
        assert_eq!(ApiError::internal("x").kind(), ErrorKind::Internal);
    }
}
