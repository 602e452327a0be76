//! Fully populated answers and requests, for the bindings' declared types.
//!
//! The bindings check their TypeScript (`recsys.d.ts`) and Python (`TypedDict`) types with
//! `tsc --strict` / `mypy --strict` against every conformance-corpus answer, which only shows
//! the members the corpus happens to produce. These samples fill in every member: each
//! struct is written out field by field (no `..Default::default()`), so a field added to an
//! answer or request type does not compile here until it is given a value, every `Option`
//! is `Some` and every list non-empty, so it shows in the JSON. The test compares their JSON
//! with `bindings/typed_samples.json`, which `bindings/corpus_types.py` adds to the literals
//! the type checkers read: a new member reaches the type check, which fails until the
//! declared types have it.
//!
//! After changing a type: `RECSYS_UPDATE_SAMPLES=1 cargo test -p recsys-core --lib samples`,
//! then update `recsys.d.ts` and the Python types until `bindings/node/ci.sh` and
//! `bindings/python/ci.sh` pass.

use crate::config::Weights;
use crate::json::to_text;
use crate::lint::{Finding, Severity};
use crate::ops::rule_stats::RuleOutcome;
use crate::request::{
    Constraints, Context, Experiment, Explain, Options, RecommendRequest, User, Warning,
};
use crate::rules::Action;
use crate::serve::answer::{
    BlendParts, Counts, Diagnostic, ExperimentMeta, Item, ItemExplain, Meta, MmrExplain,
    RawSignals, Recommendation, RuleReport, Validation, ValidationMeta,
};
use crate::time::Timestamp;

const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../bindings/typed_samples.json"
);

fn blend() -> BlendParts {
    BlendParts {
        pop: 0.5,
        cooc: 0.25,
        emb: 0.125,
    }
}

fn item(rank: u32, action: Action) -> Item {
    Item {
        item_id: format!("sku-{rank}"),
        rank,
        score: 1.5,
        reasons: vec!["popularity".into(), format!("rule.{action}[r1]")],
        explain: Some(ItemExplain {
            signals: blend(),
            rules: vec!["rule.pin[r1]".into()],
            raw: Some(RawSignals {
                pop: 10.0,
                cooc: 2.0,
                collab: 0.5,
                content: 0.25,
                session: 0.75,
            }),
            weights: Some(blend()),
            boost: Some(0.5),
            pinned: true,
            mmr: Some(MmrExplain {
                lambda: 0.7,
                relevance: 0.9,
                max_sim: 0.3,
                penalty: 0.09,
                rank,
            }),
        }),
    }
}

fn meta() -> Meta {
    Meta {
        tenant_id: "demo".into(),
        surface: "home".into(),
        segment: "returning".into(),
        algo_version: "blend-v1".into(),
        config_version: Some("c1".into()),
        rules_version: Some("r1".into()),
        manifest_version: Some("m1".into()),
        release_id: Some("rel1".into()),
        artifact_versions: vec![("popularity".into(), "v1".into())],
        snapshot_surface: Some("default".into()),
        request_id: Some("req-1".into()),
        counts: Counts {
            candidates: 9,
            after_include: 8,
            after_exclude: 7,
            after_constraints: 6,
            after_rules: 5,
            pinned: 1,
            returned: 4,
        },
        rules: Some(
            [
                (Action::Block, RuleOutcome::Fired),
                (Action::Pin, RuleOutcome::Displaced),
                (Action::Boost, RuleOutcome::Blocked),
                (Action::Boost, RuleOutcome::Noop),
            ]
            .into_iter()
            .map(|(action, outcome)| RuleReport {
                rule_id: "r1".into(),
                action,
                outcome,
            })
            .collect(),
        ),
        diagnostics: Some(vec![Diagnostic {
            stage: "constraints",
            removed: Some(2),
            message: "forbidden tags removed 2 candidates".into(),
        }]),
        experiment: Some(ExperimentMeta {
            id: "exp-1".into(),
            variant: Some("B".into()),
        }),
    }
}

fn recommendation() -> Recommendation {
    Recommendation {
        items: vec![item(1, Action::Pin), item(2, Action::Boost)],
        meta: meta(),
        warnings: vec![Warning::new("DEFAULT_APPLIED", "k defaulted to 20")],
    }
}

fn request(explain: Explain) -> RecommendRequest {
    RecommendRequest {
        surface: "home".into(),
        segment: "returning".into(),
        k: 5,
        user: User {
            user_id: "u1".into(),
            anonymous_id: "a1".into(),
            session_id: "s1".into(),
        },
        context: Some(Context {
            locale: "en-GB".into(),
            device: "mobile".into(),
            country: "GB".into(),
            now: "2026-01-02T00:00:00Z".into(),
        }),
        anchors: Some((vec!["sku-1".into()], 3)),
        include_ids: vec!["sku-2".into()],
        exclude_ids: vec!["sku-3".into()],
        constraints: Some(Constraints {
            required_tags: vec!["outdoor".into()],
            forbidden_tags: vec!["kids".into()],
            max_per_tag: vec![("brand:acme".into(), 2)],
        }),
        weights: Some(Weights {
            pop: 1.0,
            cooc: 0.5,
            emb: 0.25,
        }),
        options: Options {
            include_reasons: true,
            explain,
            include_trace: true,
            seed: 7,
        },
        experiment: Some(Experiment {
            id: "exp-1".into(),
            variant: "B".into(),
        }),
    }
}

fn validation() -> Validation {
    Validation {
        normalized_request: request(Explain::Full),
        warnings: vec![Warning::new("DEFAULT_APPLIED", "k defaulted to 20")],
        meta: ValidationMeta {
            tenant_id: "demo".into(),
            surface: "home".into(),
            segment: "returning".into(),
            algo_version: "blend-v1".into(),
            request_id: Some("req-1".into()),
        },
        lint: [Severity::Error, Severity::Warning]
            .into_iter()
            .map(|severity| Finding {
                code: "RULES_NOT_YET_ACTIVE",
                severity,
                rules: vec![0, 3],
                path: "$[0]".into(),
                surface: Some("home".into()),
                starts_at: Some(Timestamp::from_secs(1_800_000_000)),
                message: "rule 0 starts later".into(),
            })
            .collect(),
    }
}

/// `{"<type name>": [<sample JSON>, ...], ...}`, one line per sample.
fn samples_text() -> String {
    let mut groups: Vec<(&str, Vec<String>)> = vec![
        ("Recommendation", vec![to_text(&recommendation()).unwrap()]),
        ("Validation", vec![to_text(&validation()).unwrap()]),
        (
            "RecommendRequest",
            [Explain::None, Explain::Summary, Explain::Full]
                .into_iter()
                .map(|e| to_text(&request(e)).unwrap())
                .collect(),
        ),
    ];
    let mut out = String::from("{\n");
    let last = groups.len() - 1;
    for (i, (name, texts)) in groups.iter_mut().enumerate() {
        out.push_str(&format!(
            "  \"{name}\": [\n    {}\n  ]",
            texts.join(",\n    ")
        ));
        out.push_str(if i == last { "\n" } else { ",\n" });
    }
    out.push_str("}\n");
    out
}

#[test]
fn the_bindings_samples_are_every_member_of_the_current_types() {
    let text = samples_text();
    if std::env::var_os("RECSYS_UPDATE_SAMPLES").is_some() {
        std::fs::write(SAMPLES, &text).unwrap();
    }
    let committed = std::fs::read_to_string(SAMPLES).unwrap_or_default();
    assert!(
        committed == text,
        "{SAMPLES} is not what the answer and request types serialise to; rerun with \
         RECSYS_UPDATE_SAMPLES=1 and update the bindings' types (see wire/samples.rs)"
    );
    // Every sample is valid JSON.
    crate::json::parse(text.as_bytes()).unwrap();
}
