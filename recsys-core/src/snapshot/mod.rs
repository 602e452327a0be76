//! Compiled tenant snapshots: config + rules + artifacts of one tenant/surface, compiled once
//! into an immutable, `Send + Sync` structure with interned item ids and the indexes ranking
//! needs. Item ids are interned in byte order, so comparing two interned ids is the same as
//! comparing the strings: tie-breaks "by item id" cost one integer compare.

mod catalog;
mod columns;
mod id_keys;
mod id_merge;
mod intern;
pub(crate) mod parallel;
mod sources;
mod tags;

pub use catalog::Catalog;
pub(crate) use columns::TagColsBuilder;
pub use columns::{ColStrs, Columns, RowCols};
pub use intern::Interner;
pub(crate) use intern::StrHashState;
pub use sources::Sources;
pub use tags::{ItemTags, TagCounts, TagIndex, TagKey, TagPrefixes};

use crate::config::{SurfaceConfig, TenantConfig};
use crate::rules::eval::{RuleIndex, RuleTarget};
use crate::rules::Rule;
use crate::time::Timestamp;
#[cfg(feature = "bench-internals")]
use std::collections::BTreeMap;
use std::sync::Arc;

/// Dense id of an item in a snapshot (rank of the id string in byte order).
pub type ItemIdx = u32;
/// Dense id of a normalised tag in a snapshot.
pub type TagIdx = u32;

/// Max neighbours kept per anchor row (cooc) and per user row (implicit, session).
pub const MAX_NEIGHBOURS_PER_ROW: usize = 200;

/// Which signals the snapshot has data for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Available {
    pub popularity: bool,
    pub cooc: bool,
    pub implicit: bool,
    pub content: bool,
    pub session: bool,
}

/// Rows keyed by an id (anchor item or user), each with scored items.
pub type ScoredRows = Vec<(String, Vec<(String, f64)>)>;

/// Plain inputs a snapshot is compiled from; artifacts and DB-only hosts both produce this.
#[derive(Debug, Default, Clone)]
pub struct SignalData {
    /// (item, count) in any order.
    pub popularity: Option<Vec<(String, f64)>>,
    /// anchor → neighbours (item, count).
    pub cooc: Option<ScoredRows>,
    /// user → items (item, score).
    pub implicit: Option<ScoredRows>,
    /// item → tags.
    pub content: Option<Vec<(String, Vec<String>)>>,
    /// user → next items (item, score).
    pub session: Option<ScoredRows>,
}

/// Version information reported in response meta.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Versions {
    pub config_version: Option<String>,
    pub rules_version: Option<String>,
    pub manifest_version: Option<String>,
    /// The release serving config and rules came from, when they were published as one.
    pub release_id: Option<String>,
    /// (artifact kind, version) in publish order.
    pub artifacts: Vec<(String, String)>,
    pub manifest_updated_at: Option<Timestamp>,
    /// The earliest `window.end` among the artifacts (freshness).
    pub oldest_window_end: Option<Timestamp>,
}

/// What compiling dropped or clamped (never silent).
#[derive(Debug, Default, Clone)]
pub struct CompileNotes {
    pub notes: Vec<crate::error::Problem>,
}

/// An immutable compiled snapshot of one tenant/surface: a policy (config and rules, compiled
/// against the catalog's interned ids) over a shared [`Catalog`]. Changing the config or the
/// rules compiles a new snapshot around the same `Arc<Catalog>` (and, when the diversity
/// prefixes are unchanged, the same `Arc<TagIndex>`), so it costs the size of the documents,
/// not of the catalog. Catalog members (`items`, `pop_count`, `cooc_row`, ...) are reached
/// through `Deref`.
#[derive(Debug)]
pub struct TenantSnapshot {
    pub tenant: String,
    pub surface: String,
    pub config: SurfaceConfig,
    /// The whole tenant config (per-surface overrides for fallback requests).
    pub tenant_config: TenantConfig,
    pub algo_explicit: bool,
    pub versions: Versions,
    /// The artifact-derived part, shared by every policy compiled against it.
    pub catalog: Arc<Catalog>,
    /// Tags under this config's brand/category prefixes (shared while they are unchanged).
    pub tag_index: Arc<TagIndex>,
    /// Enabled rules, priority desc (stable); scopes are checked per request. Shared with the
    /// documents and every surface compiled from the same rules document.
    pub rules: Arc<[Rule]>,
    /// Targets of `rules`, resolved to interned ids (same order). Shared by every snapshot
    /// compiled from the same rules document against the same tag index.
    pub rule_targets: Arc<[RuleTarget]>,
    /// `rules` indexed by target (what a request evaluates); shared as `rule_targets` is.
    pub rule_index: Arc<RuleIndex>,
    pub notes: CompileNotes,
    /// Lint findings of the documents served with this catalog (what `validate` reports),
    /// computed once per span of time ([`crate::lint::cache`]).
    pub(crate) lint: crate::lint::cache::LintCache,
}

impl std::ops::Deref for TenantSnapshot {
    type Target = Catalog;
    fn deref(&self) -> &Catalog {
        &self.catalog
    }
}

/// A rules document's enabled rules in serving order (priority descending, ties in document
/// order), made once per rules document and shared, not copied, by every surface and snapshot
/// compiled from it.
#[derive(Debug, Clone, Default)]
pub struct ServingRules {
    rules: Arc<[Rule]>,
    /// How many of the document's rules are disabled (noted in each snapshot).
    disabled: usize,
    /// The rules' targets and index per tag index they were compiled against (shared by
    /// the clones: one document's cache), so that a config change that keeps the catalog
    /// and the brand/category prefixes reuses them instead of resolving every target and
    /// rebuilding the index's item bitsets (at 1M items, most of `set_config`'s cost).
    compiled: Arc<std::sync::Mutex<Vec<CompiledRules>>>,
}

/// [`ServingRules`]' targets and index against one tag index. The tag index is held weakly
/// (it belongs to its catalog); a weak reference keeps its allocation, so no other tag
/// index can take its address while the entry exists.
#[derive(Debug)]
struct CompiledRules {
    tags: std::sync::Weak<TagIndex>,
    targets: Arc<[RuleTarget]>,
    index: Arc<RuleIndex>,
}

/// How many tag indexes one rules document keeps its compiled targets for (surfaces with
/// different brand/category prefixes; entries of dropped catalogs are removed first).
const COMPILED_RULES_KEPT: usize = 8;

impl ServingRules {
    /// The enabled rules of `rules` (document order) in serving order.
    pub fn of(rules: &[Rule]) -> ServingRules {
        // Sorted as (priority descending, document position) keys, so ties keep document
        // order and no rule is moved by the sort; each enabled rule is copied once.
        let mut order: Vec<(std::cmp::Reverse<i64>, usize)> = (rules.iter().enumerate())
            .filter(|(_, r)| r.enabled)
            .map(|(i, r)| (std::cmp::Reverse(r.priority), i))
            .collect();
        order.sort_unstable();
        ServingRules {
            disabled: rules.len() - order.len(),
            rules: order.iter().map(|&(_, i)| rules[i].clone()).collect(),
            compiled: Default::default(),
        }
    }

    /// The enabled rules, in serving order.
    #[cfg(any(test, feature = "bench-internals"))]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many rules of the document are disabled.
    #[cfg(any(test, feature = "bench-internals"))]
    pub fn disabled(&self) -> usize {
        self.disabled
    }

    /// The rules' targets and index against `snap`'s catalog and tag index: compiled on
    /// the first call for that tag index (which belongs to one catalog), then shared.
    fn compiled_for(&self, snap: &TenantSnapshot) -> (Arc<[RuleTarget]>, Arc<RuleIndex>) {
        let lock = || self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        let same = |c: &CompiledRules| std::ptr::eq(c.tags.as_ptr(), Arc::as_ptr(&snap.tag_index));
        if let Some(c) = lock().iter().find(|c| same(c)) {
            return (Arc::clone(&c.targets), Arc::clone(&c.index));
        }
        // Compiled without the lock (another surface may compile meanwhile: both are equal).
        let targets: Arc<[RuleTarget]> = (self.rules.iter())
            .map(|r| RuleTarget::compile(r, snap))
            .collect();
        let index = Arc::new(RuleIndex::build(&self.rules, &targets, &snap.tag_index));
        let mut kept = lock();
        kept.retain(|c| c.tags.strong_count() > 0 && !same(c));
        if kept.len() >= COMPILED_RULES_KEPT {
            kept.remove(0);
        }
        kept.push(CompiledRules {
            tags: Arc::downgrade(&snap.tag_index),
            targets: Arc::clone(&targets),
            index: Arc::clone(&index),
        });
        (targets, index)
    }
}

impl TenantSnapshot {
    #[cfg(any(test, feature = "bench-internals"))]
    /// Compiles a catalog from `data` and a policy against it. `rules` must already be
    /// parsed; disabled rules are dropped here (their count is noted).
    pub fn compile(
        tenant: &str,
        surface: &str,
        config: &TenantConfig,
        rules: Vec<Rule>,
        data: SignalData,
        versions: Versions,
    ) -> TenantSnapshot {
        let catalog = Arc::new(Catalog::build(&Sources::of_signals(&data)));
        drop(data);
        let rules = ServingRules::of(&rules);
        TenantSnapshot::with_policy(tenant, surface, catalog, config, &rules, versions)
    }

    /// Compiles config and rules against an existing catalog: the cost of a document
    /// change. Surface scopes of rules are checked per request, so a surface served by the
    /// `default` snapshot still gets its own rules.
    pub fn with_policy(
        tenant: &str,
        surface: &str,
        catalog: Arc<Catalog>,
        config: &TenantConfig,
        rules: &ServingRules,
        versions: Versions,
    ) -> TenantSnapshot {
        let sc = config.for_surface(surface);
        let tag_index = catalog.tag_index(&TagPrefixes {
            brand: sc.diversity.brand_tag_prefixes.clone(),
            category: sc.diversity.category_tag_prefixes.clone(),
        });
        let mut notes = CompileNotes {
            notes: catalog.notes.clone(),
        };
        if rules.disabled > 0 {
            notes.notes.push(crate::error::Problem::new(
                "$.rules",
                "RECSYS_SNAPSHOT_RULES_SKIPPED",
                format!(
                    "{} of {} rules are disabled",
                    rules.disabled,
                    rules.disabled + rules.rules.len()
                ),
            ));
        }
        let mut snap = TenantSnapshot {
            tenant: tenant.to_string(),
            surface: surface.to_string(),
            config: sc,
            tenant_config: config.clone(),
            algo_explicit: config.algo_explicit,
            versions,
            catalog,
            tag_index,
            rules: Arc::clone(&rules.rules),
            rule_targets: Arc::new([]),
            rule_index: Default::default(),
            notes,
            lint: Default::default(),
        };
        (snap.rule_targets, snap.rule_index) = rules.compiled_for(&snap);
        snap
    }

    /// The tags of an item under this snapshot's prefixes.
    pub fn item_tags(&self, i: ItemIdx) -> Option<ItemTags<'_>> {
        self.tag_index.item(i)
    }

    /// The tag id space of this snapshot.
    pub fn tags(&self) -> &Interner {
        &self.tag_index.tags
    }

    #[cfg(feature = "bench-internals")]
    /// The versions map for meta / readiness.
    pub fn artifact_versions(&self) -> BTreeMap<&str, &str> {
        self.versions
            .artifacts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}
