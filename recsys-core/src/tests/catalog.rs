//! The catalog compiled from an artifact's compact columns is the catalog compiled from its
//! decoded rows; host signals compile with the documented duplicate, blank and case rules;
//! tag indexes follow the brand/category prefixes.

use crate::artifacts::{parse_artifact, ArtifactLimits};
use crate::snapshot::{Catalog, Columns, SignalData, Sources, TagPrefixes};
use std::path::PathBuf;

fn fixture_artifacts() -> Vec<crate::artifacts::Artifact> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/artifacts/ecommerce-mini/objectstore/demo/home");
    let mut out = Vec::new();
    for kind in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(kind.unwrap().path()).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            out.push(parse_artifact(&bytes, None, &ArtifactLimits::default()).unwrap());
        }
    }
    out
}

/// Everything observable about a catalog, as text.
fn describe(c: &Catalog) -> String {
    let mut s = String::new();
    let t = c.tag_index(&TagPrefixes {
        brand: vec!["brand:".into()],
        category: vec!["category:".into()],
    });
    for i in 0..c.catalog_len() as u32 {
        let tags = t.item(i).unwrap();
        let name = |v: &[u32]| -> Vec<&str> { v.iter().map(|&x| t.tags.name(x)).collect() };
        s += &format!(
            "{} pop={} cooc={:?} all={:?} sim={:?} brands={:?} cats={:?}\n",
            c.items.name(i),
            c.pop_count[i as usize],
            c.cooc_row(i),
            name(tags.all),
            name(tags.sim),
            name(tags.brands),
            name(tags.categories),
        );
    }
    s += &format!("order={:?} available={:?}\n", c.pop_order, c.available);
    let mut users: Vec<_> = c.implicit.iter().chain(c.session.iter()).collect();
    users.sort_by(|a, b| a.0.cmp(b.0).then(a.1.len().cmp(&b.1.len())));
    s += &format!("{users:?}");
    s
}

#[test]
fn columns_and_decoded_rows_compile_to_the_same_catalog() {
    let arts = fixture_artifacts();
    assert!(arts.len() >= 5);
    let mut rows = Sources::default();
    for a in &arts {
        rows.put_artifact(&a.body);
    }
    let from_rows = describe(&Catalog::build(&rows));
    let cols: Vec<(_, Columns)> = arts
        .iter()
        .map(|a| (a.kind(), Columns::from_body(a.body.clone())))
        .collect();
    let mut src = Sources::default();
    for (k, c) in &cols {
        src.put_columns(*k, c);
    }
    let from_cols = describe(&Catalog::build(&src));
    assert_eq!(from_rows, from_cols);
    assert!(from_rows.contains("pop="), "the fixture has items");
}

#[test]
fn host_signals_with_duplicates_blanks_and_case_compile_as_documented() {
    // Duplicates (last popularity wins, first cooc row wins, last content row wins), ids
    // with blanks, upper-case and blank tags.
    let data = SignalData {
        popularity: Some(vec![
            ("b".into(), 3.0),
            ("a".into(), 5.0),
            ("b".into(), 7.0),
            (" c".into(), 1.0),
        ]),
        cooc: Some(vec![
            ("a".into(), vec![("b".into(), 2.0), (" c ".into(), 1.0)]),
            ("a".into(), vec![("d".into(), 9.0)]),
        ]),
        content: Some(vec![
            (
                "a".into(),
                vec!["Brand:Acme".into(), " red ".into(), "".into()],
            ),
            ("b".into(), vec!["category:shoes".into(), "red".into()]),
            ("a".into(), vec!["brand:acme".into(), "blue".into()]),
        ]),
        implicit: None,
        session: None,
    };
    let c = Catalog::build(&Sources::of_signals(&data));
    let d = describe(&c);
    let names: Vec<&str> = (0..c.catalog_len() as u32)
        .map(|i| c.items.name(i))
        .collect();
    assert_eq!(names, vec![" c", " c ", "a", "b", "d"]);
    assert!(d.contains("b pop=7"), "{d}");
    assert!(d.contains("all=[\"blue\", \"brand:acme\"]"), "{d}");
    assert!(d.contains("brands=[\"acme\"]"), "{d}");
    assert!(d.contains("cats=[\"shoes\"]"), "{d}");
    // The first cooc row for `a` wins; ` c ` is looked up trimmed (`c` is not an item).
    let a = c.items.get("a").unwrap();
    let b = c.items.get("b").unwrap();
    assert_eq!(c.cooc_row(a), &[(b, 2.0)]);
}

#[test]
fn tag_indexes_are_shared_per_prefix_set() {
    let arts = fixture_artifacts();
    let mut src = Sources::default();
    for a in &arts {
        src.put_artifact(&a.body);
    }
    let c = Catalog::build(&src);
    let p = TagPrefixes {
        brand: vec!["brand:".into()],
        category: vec![],
    };
    let one = c.tag_index(&p);
    assert!(std::sync::Arc::ptr_eq(&one, &c.tag_index(&p)));
    let other = c.tag_index(&TagPrefixes::default());
    assert!(!std::sync::Arc::ptr_eq(&one, &other));
    // Without prefixes nothing is a brand.
    let brands: usize = (0..c.catalog_len() as u32)
        .map(|i| other.item(i).unwrap().brands.len())
        .sum();
    assert_eq!(brands, 0);
}
