//! Config checks against the catalog: brand/category caps that make the default `k`
//! unreachable, and blend weights for signals no artifact supplies.

use super::{codes, CatalogView, Finding, LintInput, Severity, TagSpace};
use crate::config::SurfaceConfig;

pub(super) fn check(input: &LintInput) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(cat) = input.catalog.filter(|c| c.item_count() > 0) else {
        return out;
    };
    let mut surfaces: Vec<(Option<&str>, SurfaceConfig)> = vec![(None, input.config.base.clone())];
    for s in input.config.surfaces() {
        surfaces.push((Some(s), input.config.for_surface(s)));
    }
    for (surface, sc) in &surfaces {
        let prefix = match surface {
            Some(s) => format!("$.surfaces.{s}"),
            None => "$".to_string(),
        };
        caps(cat, *surface, sc, &prefix, &mut out);
        weights(cat, *surface, sc, &prefix, &mut out);
    }
    out
}

/// Upper bound of items a cap lets through: `cap` per group, every item without a group.
fn reachable(cat: &dyn CatalogView, space: TagSpace, cap: u32) -> usize {
    let (sizes, none) = cat.group_sizes(space);
    sizes
        .iter()
        .map(|&n| n.min(cap as usize))
        .fold(none, usize::saturating_add)
}

fn caps(
    cat: &dyn CatalogView,
    surface: Option<&str>,
    sc: &SurfaceConfig,
    prefix: &str,
    out: &mut Vec<Finding>,
) {
    let k = 20.min(sc.limits.max_k) as usize;
    let d = &sc.diversity;
    let mut bound = cat.item_count();
    let mut why = Vec::new();
    if d.brand_cap > 0 {
        let n = reachable(cat, TagSpace::Brand, d.brand_cap);
        bound = bound.min(n);
        why.push(format!("brand_cap {} allows {n}", d.brand_cap));
    }
    if d.category_cap > 0 {
        let n = reachable(cat, TagSpace::Category, d.category_cap);
        bound = bound.min(n);
        why.push(format!("category_cap {} allows {n}", d.category_cap));
    }
    if why.is_empty() || bound >= k || bound >= cat.item_count() {
        return;
    }
    let field = if d.brand_cap > 0 && (d.category_cap == 0 || bound < cat.item_count()) {
        "brand_cap"
    } else {
        "category_cap"
    };
    let mut f = Finding::new(
        codes::CONFIG_CAPS_UNSATISFIABLE,
        Severity::Error,
        format!("{prefix}.diversity.{field}"),
        format!(
            "{}caps let at most {bound} of the catalog's {} items into one answer ({}), fewer than the default k of {k}",
            surface.map_or(String::new(), |s| format!("surface {s:?}: ")),
            cat.item_count(),
            why.join(", ")
        ),
    );
    f.surface = surface.map(str::to_string);
    out.push(f);
}

fn weights(
    cat: &dyn CatalogView,
    surface: Option<&str>,
    sc: &SurfaceConfig,
    prefix: &str,
    out: &mut Vec<Finding>,
) {
    let Some(w) = sc.weights else { return };
    let a = cat.signals();
    let checks = [
        ("pop", w.pop, a.popularity, "popularity"),
        ("cooc", w.cooc, a.cooc, "cooc"),
        (
            "emb",
            w.emb,
            a.implicit || a.content || a.session,
            "implicit, content_sim or session_seq",
        ),
    ];
    for (name, value, present, artifact) in checks {
        if value > 0.0 && !present {
            let mut f = Finding::new(
                codes::CONFIG_WEIGHT_WITHOUT_SIGNAL,
                Severity::Warning,
                format!("{prefix}.weights.{name}"),
                format!(
                    "{}weight {name} is {value} but the manifest has no {artifact} artifact; it scores nothing",
                    surface.map_or(String::new(), |s| format!("surface {s:?}: ")),
                ),
            );
            f.surface = surface.map(str::to_string);
            out.push(f);
        }
    }
}
