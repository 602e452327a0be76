//! Test-only reference decoder: the same Go decoding rules applied to a parsed
//! [`Value`] tree instead of the byte stream. `stream` must agree with it on every input.

use super::decode::{
    dec_i64, dec_obj, dec_opt_i64, dec_str, finish, float64_of, key_is, parse_json, wrong, Path,
    RawEnvelope, R,
};
use super::error::ArtifactError;
use super::model::*;
use crate::json::Value;

fn dec_f64(slot: &mut f64, v: Value, p: &Path<'_>) -> R<()> {
    match v {
        Value::Number(n) => match float64_of(n.literal()) {
            Some(f) => {
                *slot = f;
                Ok(())
            }
            None => Err(wrong(p, "a float64", &Value::Number(n))),
        },
        Value::Null => Ok(()),
        other => Err(wrong(p, "a float64", &other)),
    }
}

/// Decodes an array into `slot` element-wise (Go slice semantics); `null` sets it to `None`.
/// Elements are decoded in order; reaching element `limit` is a `LimitExceeded`.
fn dec_vec<T: Default>(
    slot: &mut Option<Vec<T>>,
    v: Value,
    p: &Path<'_>,
    limit: usize,
    what: &'static str,
    mut elem: impl FnMut(&mut T, Value, &Path<'_>) -> R<()>,
) -> R<()> {
    match v {
        Value::Null => {
            *slot = None;
            Ok(())
        }
        Value::Array(arr) => {
            let n = arr.len();
            let mut out = slot.take().unwrap_or_default();
            for (i, x) in arr.into_iter().enumerate() {
                if i >= limit {
                    return Err(ArtifactError::LimitExceeded {
                        path: p.render(),
                        what,
                        limit,
                        found: n,
                    });
                }
                if out.len() <= i {
                    out.push(T::default());
                }
                if let Some(e) = out.get_mut(i) {
                    elem(e, x, &Path::Idx(p, i))?;
                }
            }
            out.truncate(n);
            *slot = Some(out);
            Ok(())
        }
        other => Err(wrong(p, "an array", &other)),
    }
}

/// [`parse_artifact`](super::parse_artifact) over a parsed tree.
pub(crate) fn parse_artifact_value(
    bytes: &[u8],
    expected: Option<ArtifactKind>,
    limits: &ArtifactLimits,
) -> Result<Artifact, ArtifactError> {
    let root = parse_json(bytes, limits)?;
    let kind = match expected {
        Some(k) => k,
        None => peek_kind(&root)?,
    };
    let mut env = RawEnvelope::default();
    let mut body = ArtifactBody::absent(kind);
    let body_key = kind.body_key();
    let rp = Path::Root;
    dec_obj(root, &rp, |k, x| {
        if key_is(k, "v") {
            dec_opt_i64(&mut env.v, x, &Path::Key(&rp, "v"))
        } else if key_is(k, "artifact_type") {
            dec_str(&mut env.artifact_type, x, &Path::Key(&rp, "artifact_type"))
        } else if key_is(k, "tenant") {
            dec_str(&mut env.tenant, x, &Path::Key(&rp, "tenant"))
        } else if key_is(k, "surface") {
            dec_str(&mut env.surface, x, &Path::Key(&rp, "surface"))
        } else if key_is(k, "segment") {
            dec_str(&mut env.segment, x, &Path::Key(&rp, "segment"))
        } else if key_is(k, "window") {
            let wp = Path::Key(&rp, "window");
            dec_obj(x, &wp, |k, x| {
                if key_is(k, "start") {
                    dec_str(&mut env.start, x, &Path::Key(&wp, "start"))
                } else if key_is(k, "end") {
                    dec_str(&mut env.end, x, &Path::Key(&wp, "end"))
                } else {
                    Ok(())
                }
            })
        } else if key_is(k, "build") {
            let bp = Path::Key(&rp, "build");
            let b = &mut env.build;
            dec_obj(x, &bp, |k, x| {
                if key_is(k, "built_at") {
                    dec_str(&mut b.built_at, x, &Path::Key(&bp, "built_at"))
                } else if key_is(k, "version") {
                    dec_str(&mut b.version, x, &Path::Key(&bp, "version"))
                } else if key_is(k, "source_hash") {
                    dec_str(&mut b.source_hash, x, &Path::Key(&bp, "source_hash"))
                } else {
                    Ok(())
                }
            })
        } else if key_is(k, body_key) {
            dec_body(&mut body, x, &Path::Key(&rp, body_key), limits)
        } else {
            Ok(())
        }
    })?;

    finish(env, body, kind)
}

/// The kind named by `artifact_type` (Go semantics: last non-null matching member).
fn peek_kind(root: &Value) -> R<ArtifactKind> {
    let mut found: Option<&str> = None;
    match root {
        Value::Object(m) => {
            for (k, x) in m.iter() {
                if key_is(k, "artifact_type") {
                    match x {
                        Value::String(s) => found = Some(s),
                        Value::Null => {}
                        other => {
                            return Err(wrong(
                                &Path::Key(&Path::Root, "artifact_type"),
                                "a string",
                                other,
                            ))
                        }
                    }
                }
            }
        }
        Value::Null => {}
        other => return Err(wrong(&Path::Root, "an object", other)),
    }
    match found {
        None | Some("") => Err(ArtifactError::MissingField {
            path: "$.artifact_type".into(),
        }),
        Some(s) => ArtifactKind::parse(s).ok_or_else(|| ArtifactError::UnknownKind {
            found: s.to_string(),
        }),
    }
}

fn dec_body(body: &mut ArtifactBody, v: Value, p: &Path<'_>, lim: &ArtifactLimits) -> R<()> {
    match body {
        ArtifactBody::Popularity(b) => dec_vec(
            &mut b.items,
            v,
            p,
            lim.max_items,
            "rows per artifact",
            dec_pop_item,
        ),
        ArtifactBody::Cooc(b) => dec_vec(
            &mut b.neighbors,
            v,
            p,
            lim.max_items,
            "rows per artifact",
            |row, x, p| dec_cooc_row(row, x, p, lim),
        ),
        ArtifactBody::Implicit(b) => {
            dec_vec(&mut b.users, v, p, lim.max_users, "users", |row, x, p| {
                dec_user_row(row, x, p, lim)
            })
        }
        ArtifactBody::SessionSeq(b) => {
            dec_vec(&mut b.users, v, p, lim.max_users, "users", |row, x, p| {
                dec_user_row(row, x, p, lim)
            })
        }
        ArtifactBody::ContentSim(b) => dec_vec(
            &mut b.items,
            v,
            p,
            lim.max_items,
            "rows per artifact",
            |it, x, p| dec_content_item(it, x, p, lim),
        ),
    }
}

fn dec_pop_item(it: &mut PopItem, v: Value, p: &Path<'_>) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "item_id") {
            dec_str(&mut it.item_id, x, &Path::Key(p, "item_id"))
        } else if key_is(k, "count") {
            dec_i64(&mut it.count, x, &Path::Key(p, "count"))
        } else {
            Ok(())
        }
    })
}

fn dec_cooc_neighbor(it: &mut CoocNeighbor, v: Value, p: &Path<'_>) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "item_id") {
            dec_str(&mut it.item_id, x, &Path::Key(p, "item_id"))
        } else if key_is(k, "count") {
            dec_i64(&mut it.count, x, &Path::Key(p, "count"))
        } else {
            Ok(())
        }
    })
}

fn dec_cooc_row(row: &mut CoocRow, v: Value, p: &Path<'_>, lim: &ArtifactLimits) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "item_id") {
            dec_str(&mut row.item_id, x, &Path::Key(p, "item_id"))
        } else if key_is(k, "items") {
            let ip = Path::Key(p, "items");
            dec_vec(
                &mut row.items,
                x,
                &ip,
                lim.max_neighbors_per_row,
                "neighbors per row",
                dec_cooc_neighbor,
            )
        } else {
            Ok(())
        }
    })
}

fn dec_scored(it: &mut ScoredItem, v: Value, p: &Path<'_>) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "item_id") {
            dec_str(&mut it.item_id, x, &Path::Key(p, "item_id"))
        } else if key_is(k, "score") {
            dec_f64(&mut it.score, x, &Path::Key(p, "score"))
        } else {
            Ok(())
        }
    })
}

fn dec_user_row(row: &mut UserRow, v: Value, p: &Path<'_>, lim: &ArtifactLimits) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "user_id") {
            dec_str(&mut row.user_id, x, &Path::Key(p, "user_id"))
        } else if key_is(k, "items") {
            let ip = Path::Key(p, "items");
            dec_vec(
                &mut row.items,
                x,
                &ip,
                lim.max_items_per_user,
                "items per user",
                dec_scored,
            )
        } else {
            Ok(())
        }
    })
}

fn dec_content_item(it: &mut ContentItem, v: Value, p: &Path<'_>, lim: &ArtifactLimits) -> R<()> {
    dec_obj(v, p, |k, x| {
        if key_is(k, "item_id") {
            dec_str(&mut it.item_id, x, &Path::Key(p, "item_id"))
        } else if key_is(k, "tags") {
            let tp = Path::Key(p, "tags");
            dec_vec(
                &mut it.tags,
                x,
                &tp,
                lim.max_tags_per_item,
                "tags per item",
                dec_str,
            )
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    //! Differential tests: the streaming decoder must give exactly the oracle's result
    //! (same artifact, or the same error) on every input.

    use super::parse_artifact_value;
    use crate::artifacts::{
        load_artifact, load_columns, parse_artifact, version_from_uri, ArtifactKind, ArtifactLimits,
    };
    use crate::json::{self, Map, Number, Value};
    use crate::snapshot::Columns;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// The published artifacts of the test fixtures' datasets, by kind, in a fixed order.
    pub(crate) fn fixture_files() -> Vec<(ArtifactKind, PathBuf)> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts");
        let mut out = Vec::new();
        for ds in ["tiny", "ecommerce-mini", "ecommerce-mini-2day"] {
            for kind in ArtifactKind::ALL {
                let dir = root
                    .join(ds)
                    .join("objectstore/demo/home")
                    .join(kind.as_str());
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut paths: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                paths.sort();
                out.extend(paths.into_iter().map(|p| (kind, p)));
            }
        }
        out
    }

    fn fixture_blobs() -> Vec<(ArtifactKind, Vec<u8>)> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts");
        let mut out: Vec<(ArtifactKind, Vec<u8>)> = fixture_files()
            .into_iter()
            .map(|(k, p)| (k, std::fs::read(p).unwrap()))
            .collect();
        for (name, kind) in [
            (
                "popularity_escapes_segment_default",
                ArtifactKind::Popularity,
            ),
            ("popularity_escapes_segment_empty", ArtifactKind::Popularity),
            ("popularity_items_null", ArtifactKind::Popularity),
            ("implicit_float_formats", ArtifactKind::Implicit),
            ("session_seq_small", ArtifactKind::SessionSeq),
            ("cooc_empty_and_null_rows", ArtifactKind::Cooc),
            ("content_sim_tags_variants", ArtifactKind::ContentSim),
        ] {
            out.push((
                kind,
                std::fs::read(root.join(format!("golden-vectors/{name}.json"))).unwrap(),
            ));
        }
        out
    }

    fn check(bytes: &[u8], expected: Option<ArtifactKind>, limits: &ArtifactLimits) {
        if let Some(kind) = expected {
            one_pass_agrees(bytes, kind, limits);
        }
        let streamed = parse_artifact(bytes, expected, limits);
        let oracle = parse_artifact_value(bytes, expected, limits);
        assert_eq!(
            streamed,
            oracle,
            "decoders disagree on {:?} (expected {expected:?})",
            String::from_utf8_lossy(bytes)
        );
    }

    /// The one-pass loader, when it takes a document, gives what the two steps (decode, then
    /// verify hash, version and scope) give: the same envelope, rows and columns, or the same
    /// error. Returns whether it took the document.
    fn one_pass_agrees(bytes: &[u8], kind: ArtifactKind, limits: &ArtifactLimits) -> bool {
        let (tenant, surface) = ("demo", "home");
        let declared = parse_artifact(bytes, Some(kind), limits)
            .map(|a| a.envelope.build.version)
            .unwrap_or_default();
        for uri in [
            "s3://b/x.json".to_string(),
            format!("s3://b/{declared}.json"),
            format!("s3://b/{}.json", "0".repeat(64)),
        ] {
            let expected = version_from_uri(&uri);
            let Some(fast) = load_columns(bytes, kind, expected, tenant, surface, limits) else {
                return false;
            };
            let steps = load_artifact(bytes, kind, &uri, tenant, surface, limits);
            match (fast, steps) {
                (Ok(c), Ok(a)) => {
                    assert_eq!(c.envelope, a.envelope);
                    assert_eq!(c.rows, a.body.row_count());
                    assert_eq!(
                        format!("{:?}", c.columns),
                        format!("{:?}", Columns::from_body(a.body))
                    );
                }
                (Err(e), Err(e2)) => assert_eq!(e, e2, "{}", String::from_utf8_lossy(bytes)),
                (f, s) => panic!(
                    "one pass {:?} vs two steps {:?} on {}",
                    f.map(|c| c.rows),
                    s.map(|a| a.body.row_count()),
                    String::from_utf8_lossy(bytes)
                ),
            }
        }
        true
    }

    fn check_all(bytes: &[u8], limits: &ArtifactLimits) {
        check(bytes, None, limits);
        for k in ArtifactKind::ALL {
            check(bytes, Some(k), limits);
        }
    }

    #[test]
    fn agree_on_fixtures() {
        let blobs = fixture_blobs();
        assert_eq!(blobs.len(), 24);
        for (kind, b) in &blobs {
            assert!(parse_artifact(b, Some(*kind), &ArtifactLimits::default()).is_ok());
            // Every published artifact takes the one-pass path, valid or not.
            assert!(one_pass_agrees(b, *kind, &ArtifactLimits::default()));
            check_all(b, &ArtifactLimits::default());
        }
    }

    #[test]
    fn agree_on_edge_cases() {
        let w = r#""window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}"#;
        let head = format!(r#""v":1,"artifact_type":"popularity","tenant":"t","surface":"s",{w}"#);
        let docs = [
            String::new(),
            " ".into(),
            "null".into(),
            "[]".into(),
            "1".into(),
            "{".into(),
            "{}".into(),
            "{} x".into(),
            r#"{"v":1}"#.into(),
            format!("{{{head}}}"),
            format!("{{{head},\"items\":[]}}"),
            format!("{{{head},\"items\":null}}"),
            format!("{{{head},\"items\":[{{\"item_id\":\"a\",\"count\":1}}],\"ITEMS\":[{{\"count\":2}},{{}}]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":\"a\",\"count\":3.0}}]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":\"a\",\"count\":3.0}}],\"x\":[1,]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":\"a\\u0000\\ud83d\\ude00\",\"count\":1}}]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":\"a\\ud83d\",\"count\":1}}]}}"),
            format!("{{{head},\"x\":\"\\udc00\",\"items\":[]}}"),
            format!("{{{head},\"x\":\"\\q\",\"items\":[]}}"),
            format!("{{{head},\"x\":\"\u{1}\",\"items\":[]}}"),
            format!("{{{head},\"x\":01,\"items\":[]}}"),
            format!("{{{head},\"x\":-,\"items\":[]}}"),
            format!("{{{head},\"x\":1.e5,\"items\":[]}}"),
            format!("{{{head},\"x\":tru,\"items\":[]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":tru}}]}}"),
            format!("{{{head},\"items\":[{{\"item_id\":[1,}}]}}"),
            format!("{{{head},\"x\":{}1{}}}", "[".repeat(70), "]".repeat(70)),
            format!("{{{head},\"x\":{}1{}}}", "[".repeat(63), "]".repeat(63)),
            format!("{{{head},\"x\":{}1{}}}", "[".repeat(62), "]".repeat(62)),
            format!("{{{head},\"x\":{},\"items\":[]}}", "9".repeat(1001)),
            format!("{{{head},\"\u{17F}egment\":\"seg\",\"items\":[]}}"),
            format!("{{{head},\"window\":null,\"items\":[]}}"),
            format!("{{{head},\"window\":{{\"start\":\"2026-01-01T00:00:00Z\"}},\"items\":[]}}"),
            format!("{{{head},\"build\":[],\"items\":[]}}"),
            format!("{{{head},\"build\":{{\"version\":7}},\"items\":[]}}"),
            format!("{{\"artifact_type\":null,{head},\"artifact_type\":null}}"),
            format!("{{{head},\"artifact_type\":5}}"),
            "{\"v\":1,\"artifact_type\":\"session_seq\",\"tenant\":\"t\",\"surface\":\"s\",\"window\":{\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-02T00:00:00Z\"},\"users\":[{\"user_id\":\"u\",\"items\":[{\"item_id\":\"a\",\"score\":1e400}]}]}".into(),
        ];
        let body_first = format!(
            r#"{{"items":[{{"item_id":"a","tags":["x"],"count":1}}],"v":1,"artifact_type":"content_sim","tenant":"t","surface":"s",{w}}}"#
        );
        let switched = format!(
            r#"{{"v":1,"artifact_type":"popularity","tenant":"t","surface":"s",{w},"items":[{{"item_id":"a","tags":["x"],"count":1}}],"artifact_type":"content_sim"}}"#
        );
        let invalid_then_valid = format!(
            r#"{{"v":1,"artifact_type":"nope","artifact_type":"cooc","tenant":"t","surface":"s",{w},"neighbors":[]}}"#
        );
        let valid_then_invalid = format!(
            r#"{{"v":1,"artifact_type":"cooc","tenant":"t","surface":"s",{w},"neighbors":[],"artifact_type":"nope"}}"#
        );
        let type_error_then_bad_kind = format!(
            r#"{{"v":1,"artifact_type":"popularity","tenant":"t","surface":"s",{w},"items":[{{"count":"x"}}],"artifact_type":5}}"#
        );
        let docs: Vec<String> = docs
            .into_iter()
            .chain([
                body_first,
                switched,
                invalid_then_valid,
                valid_then_invalid,
                type_error_then_bad_kind,
            ])
            .collect();
        let small = ArtifactLimits {
            max_items: 1,
            max_tags_per_item: 0,
            ..ArtifactLimits::default()
        };
        for d in &docs {
            check_all(d.as_bytes(), &ArtifactLimits::default());
            check_all(d.as_bytes(), &small);
        }
        check_all(b"\"\xff\"", &ArtifactLimits::default());
        check_all(
            b"{\"v\":1}",
            &ArtifactLimits {
                max_bytes: 3,
                ..ArtifactLimits::default()
            },
        );
    }

    // --- structural mutations -------------------------------------------------------------

    use crate::tests::rng::Rng;

    fn num(lit: &str) -> Value {
        Value::Number(Number::from_literal_unchecked(lit))
    }

    fn leaf(rng: &mut Rng) -> Value {
        const NUMS: [&str; 12] = [
            "0",
            "-0",
            "3",
            "3.0",
            "1e2",
            "-1",
            "9223372036854775808",
            "1e400",
            "0.5",
            "-2.5",
            "1",
            "2",
        ];
        match rng.index(9) {
            0 => Value::Null,
            1 => Value::Bool(true),
            2 => Value::str(""),
            3 => Value::str("x<\u{2028}\u{0}"),
            4 => Value::Array(vec![]),
            5 => Value::Object(Map::new()),
            6 => Value::Array(vec![Value::str("a"), Value::Null]),
            7 => Value::Object(Map::from(vec![("item_id".to_string(), Value::str("z"))])),
            _ => num(NUMS[rng.index(NUMS.len())]),
        }
    }

    fn mangle_key(k: &str, rng: &mut Rng) -> String {
        match rng.index(4) {
            0 => k.to_ascii_uppercase(),
            1 => k.replacen('s', "\u{17F}", 1),
            2 => k.replacen('k', "\u{212A}", 1),
            _ => format!("{k}_"),
        }
    }

    fn mutate(v: Value, rng: &mut Rng, rate: u64) -> Value {
        if rng.chance(rate / 3) {
            return leaf(rng);
        }
        match v {
            Value::Object(m) => {
                let mut out: Vec<(String, Value)> = Vec::new();
                for (k, x) in m.into_vec() {
                    if rng.chance(rate / 2) {
                        continue;
                    }
                    if rng.chance(rate / 2) {
                        out.push((k.clone(), mutate(x.clone(), rng, rate)));
                    }
                    let k = if rng.chance(rate / 2) {
                        mangle_key(&k, rng)
                    } else {
                        k
                    };
                    out.push((k, mutate(x, rng, rate)));
                }
                if rng.chance(rate / 2) {
                    let at = rng.index(out.len() + 1);
                    out.insert(at, ("unknown".into(), leaf(rng)));
                }
                Value::Object(Map::from(out))
            }
            Value::Array(a) => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    if rng.chance(rate / 2) {
                        continue;
                    }
                    if rng.chance(rate / 3) {
                        out.push(mutate(x.clone(), rng, rate));
                    }
                    out.push(mutate(x, rng, rate));
                }
                Value::Array(out)
            }
            other => other,
        }
    }

    fn limits_for(rng: &mut Rng) -> ArtifactLimits {
        if rng.chance(700) {
            return ArtifactLimits::default();
        }
        ArtifactLimits {
            max_bytes: 1 << 20,
            max_items: rng.index(10),
            max_neighbors_per_row: rng.index(6),
            max_users: rng.index(8),
            max_items_per_user: rng.index(6),
            max_tags_per_item: rng.index(4),
            max_depth: 2 + rng.index(6),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn agree_on_structural_mutations(seed in 1u64.., pick in 0usize..64, rate in 5u64..300) {
            let blobs = fixture_blobs();
            let (kind, bytes) = &blobs[pick % blobs.len()];
            let mut rng = Rng::new(seed);
            let doc = mutate(json::parse(bytes).unwrap(), &mut rng, rate);
            let text = if rng.chance(500) { json::to_string(&doc) } else { json::to_go_string(&doc) };
            let limits = limits_for(&mut rng);
            check(text.as_bytes(), None, &limits);
            check(text.as_bytes(), Some(*kind), &limits);
        }

        #[test]
        fn agree_on_byte_mutations(pick in 0usize..64, edits in proptest::collection::vec((0usize..4000, any::<u8>()), 1..4), cut in 0usize..4000) {
            let blobs = fixture_blobs();
            let (kind, bytes) = &blobs[pick % blobs.len()];
            let mut b = bytes.clone();
            for (pos, byte) in edits {
                let i = pos % b.len();
                b[i] = byte;
            }
            if cut < b.len() && cut % 3 == 0 {
                b.truncate(cut);
            }
            check(&b, None, &ArtifactLimits::default());
            check(&b, Some(*kind), &ArtifactLimits::default());
        }
    }
}
