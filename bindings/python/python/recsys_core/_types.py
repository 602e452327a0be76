"""Typed requests and answers of the serving operations (``TypedDict``\\s).

Their JSON shape is the conformance corpus's (``recsys-core/tests/conformance``): CI checks
every corpus request and answer as a literal of these types with ``mypy --strict``
(``bindings/corpus_types.py``), so a member the core adds, drops or retypes fails the build.
Requests are declared in their canonical form; the core also accepts member names in any case
and ``None`` for an absent member (Go compatibility). The same types exist for TypeScript in
``bindings/node/recsys.d.ts``.
"""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, TypedDict

# ---- requests ----------------------------------------------------------------------------


class User(TypedDict, total=False):
    """Who the recommendation is for (at least one id for personalised signals)."""

    user_id: str
    anonymous_id: str
    session_id: str


class RequestContext(TypedDict, total=False):
    """Request context; ``now`` (RFC 3339) is only used when the host's ctx has none."""

    locale: str
    device: str
    country: str
    now: str


class Anchors(TypedDict, total=False):
    """Seed items for co-occurrence and similarity signals."""

    item_ids: List[str]
    max_anchors: int


class CandidateFilter(TypedDict, total=False):
    """Candidate ids to add (``include_ids``) or remove (``exclude_ids``)."""

    include_ids: List[str]
    exclude_ids: List[str]


class Constraints(TypedDict, total=False):
    """Tag constraints; tags are matched lower-cased and trimmed."""

    required_tags: List[str]
    forbidden_tags: List[str]
    max_per_tag: Dict[str, int]  #: at most this many items per tag


class Weights(TypedDict, total=False):
    """Blend weights per signal (non-negative)."""

    pop: float
    cooc: float
    emb: float


ExplainLevel = Literal["none", "summary", "full"]


class RequestOptions(TypedDict, total=False):
    include_reasons: bool
    explain: ExplainLevel  #: ``full`` (and ``include_trace``) need the admin role in ctx.roles
    include_trace: bool
    seed: int


class ExperimentRef(TypedDict, total=False):
    """A variant forced by the caller (otherwise assigned by the engine's experiments)."""

    id: str
    variant: str


class _RecommendRequestBase(TypedDict):
    surface: str


class RecommendRequest(_RecommendRequestBase, total=False):
    """The ``request`` of ``recommend`` and ``validate``."""

    segment: str  #: default ``default``
    k: int  #: default 20; at most the surface's limit
    user: User
    context: RequestContext
    anchors: Anchors
    candidates: CandidateFilter
    constraints: Constraints
    weights: Weights
    options: RequestOptions
    experiment: ExperimentRef


class _SimilarRequestBase(TypedDict):
    surface: str
    item_id: str


class SimilarRequest(_SimilarRequestBase, total=False):
    """The ``request`` of ``similar``: items like ``item_id``."""

    segment: str
    k: int
    candidates: CandidateFilter
    constraints: Constraints
    options: RequestOptions


class _ServingContextBase(TypedDict):
    now: str  #: RFC 3339; the core reads no clock
    tenant: str


class ServingContext(_ServingContextBase, total=False):
    """The host context of a serving call (the core does no auth)."""

    request_id: str
    roles: List[str]  #: ``admin`` unlocks ``explain: full`` and ``include_trace``


# ---- answers -----------------------------------------------------------------------------


class RequestWarning(TypedDict):
    """A request adjustment the core made (``DEFAULT_APPLIED``, ``LIMIT_CLAMPED``, ...)."""

    code: str
    detail: str


class SignalValues(TypedDict):
    pop: float
    cooc: float
    emb: float


class RawSignals(TypedDict):
    pop: float
    cooc: float
    collab: float
    content: float
    session: float


#: One MMR step of ``explain: full`` (functional form: ``lambda`` is a keyword).
MmrStep = TypedDict(
    "MmrStep",
    {"lambda": float, "relevance": float, "max_sim": float, "penalty": float, "rank": int},
)


class _ItemExplainBase(TypedDict):
    signals: SignalValues


class ItemExplain(_ItemExplainBase, total=False):
    """Why an item scored as it did (``options.explain``; ``raw`` and the members after it
    need ``explain: full``)."""

    rules: List[str]  #: rule tokens that touched the item (``boost:r1``, ``pin:r2``, ...)
    raw: RawSignals
    weights: SignalValues
    boost: float
    pinned: bool
    mmr: MmrStep


class _RecommendedItemBase(TypedDict):
    item_id: str
    rank: int  #: 1-based
    score: float


class RecommendedItem(_RecommendedItemBase, total=False):
    """One ranked item."""

    reasons: List[str]  #: ``options.include_reasons``
    explain: ItemExplain


class Counts(TypedDict):
    """How many candidates were left after each stage."""

    candidates: int
    after_include: int
    after_exclude: int
    after_constraints: int
    after_rules: int
    pinned: int
    returned: int


class _DiagnosticBase(TypedDict):
    stage: str
    message: str


class Diagnostic(_DiagnosticBase, total=False):
    """Why an answer has fewer than ``k`` items, stage by stage."""

    removed: int


class RuleOutcome(TypedDict):
    """What a rule did to this request (``meta.rules``)."""

    rule_id: str
    action: str
    outcome: str


class _ExperimentMetaBase(TypedDict):
    id: str


class ExperimentMeta(_ExperimentMetaBase, total=False):
    variant: str


class _AnswerMetaBase(TypedDict):
    tenant_id: str
    surface: str
    segment: str
    algo_version: str
    counts: Counts


class AnswerMeta(_AnswerMetaBase, total=False):
    """The answer's provenance: tenant, versions of every input, counts."""

    config_version: str
    rules_version: str
    manifest_version: str
    release_id: str
    artifact_versions: Dict[str, str]  #: version of each artifact served, by kind
    snapshot_surface: str  #: set when the surface fell back to another surface's snapshot
    request_id: str
    rules: List[RuleOutcome]
    diagnostics: List[Diagnostic]
    experiment: ExperimentMeta


class _RecommendationBase(TypedDict):
    items: List[RecommendedItem]
    meta: AnswerMeta


class Recommendation(_RecommendationBase, total=False):
    """The answer of ``recommend`` (and of ``similar``)."""

    warnings: List[RequestWarning]


#: The answer of ``similar``: the same shape as a recommendation.
SimilarAnswer = Recommendation


class NormalizedOptions(TypedDict):
    include_reasons: bool
    explain: ExplainLevel
    include_trace: bool
    seed: int


class _NormalizedRequestBase(TypedDict):
    surface: str
    segment: str
    k: int
    user: User
    options: NormalizedOptions


class NormalizedRequest(_NormalizedRequestBase, total=False):
    """The request as the core understood it: defaults applied, lists normalised."""

    context: RequestContext
    anchors: Anchors
    candidates: CandidateFilter
    constraints: Constraints
    weights: Weights
    experiment: ExperimentRef


class _ValidationMetaBase(TypedDict):
    tenant_id: str
    surface: str
    segment: str
    algo_version: str


class ValidationMeta(_ValidationMetaBase, total=False):
    request_id: str


class _LintFindingBase(TypedDict):
    code: str
    severity: Literal["error", "warning"]
    rules: List[int]
    path: str
    message: str


class LintFinding(_LintFindingBase, total=False):
    """A lint finding about the documents serving a tenant."""

    surface: str
    starts_at: str


class _ValidationBase(TypedDict):
    normalized_request: NormalizedRequest
    meta: ValidationMeta


class Validation(_ValidationBase, total=False):
    """The answer of ``validate``."""

    warnings: List[RequestWarning]
    lint: List[LintFinding]


class Problem(TypedDict):
    """One finding: where (JSON path), what (stable code), and a message."""

    path: str
    code: str
    message: str


class RulesReport(TypedDict):
    loaded: int
    serving: int
    dropped: List[Problem]


class LoadReport(TypedDict):
    """The answer of ``load_snapshot``: what was compiled and installed."""

    tenant: str
    surface: str
    config_version: Optional[str]
    rules_version: Optional[str]
    manifest_version: Optional[str]
    artifact_versions: Dict[str, str]
    items: int  #: items in the catalog
    rules: RulesReport
    warnings: List[Problem]


__all__ = [
    "AnswerMeta",
    "Anchors",
    "CandidateFilter",
    "Constraints",
    "Counts",
    "Diagnostic",
    "ExperimentMeta",
    "ExperimentRef",
    "ExplainLevel",
    "ItemExplain",
    "LintFinding",
    "LoadReport",
    "MmrStep",
    "NormalizedOptions",
    "NormalizedRequest",
    "Problem",
    "RawSignals",
    "RecommendRequest",
    "RecommendedItem",
    "Recommendation",
    "RequestContext",
    "RequestOptions",
    "RequestWarning",
    "RuleOutcome",
    "RulesReport",
    "ServingContext",
    "SignalValues",
    "SimilarAnswer",
    "SimilarRequest",
    "User",
    "Validation",
    "ValidationMeta",
    "Weights",
]
