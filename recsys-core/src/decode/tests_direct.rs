//! The direct reader of `recommend` calls ([`super::direct`]) against the tree decoder: on
//! every text it accepts, the tree parses, the call's members are the ones `Engine::call`
//! allows, the context is the tree's, and the request resolves under every limit set to the
//! same request (candidate lists included), warnings and error as the tree's
//! `Request::TextIds`. Texts are generated near what clients send (valid, padded, repeated,
//! differently cased, escaped, `null`, wrong types, numbers of every spelling, unknown
//! members), then mutated byte-wise; the conformance corpus's calls are read too, and
//! answered through `Engine::call` alike with and without the reader.

use super::direct::{read, DirectCall};
use crate::config::Limits;
use crate::json;
use crate::json::node::{parse_node, Members, Tree};
use crate::request::{CallContext, RecommendRequest, Warning};
use crate::serve::request::{JsonTree, Request};
use crate::tests::rng::Rng;
use crate::{ApiError, Engine, Op};

/// What a request resolves to: the whole request (lists made distinct) and its warnings.
type Resolution = Result<(RecommendRequest, Vec<Warning>), ApiError>;

fn resolution(r: &Request<'_, RecommendRequest>, limits: &Limits) -> Resolution {
    r.resolve(limits).map(|(req, w)| (req.into_owned(), w))
}

/// Limit sets that the generated values cross now and then.
fn limit_sets() -> [Limits; 3] {
    let tight = Limits {
        max_k: 5,
        max_include_ids: 3,
        max_exclude_ids: 2,
        ..Limits::default()
    };
    let one = Limits {
        max_k: 1,
        max_include_ids: 0,
        max_exclude_ids: 0,
        ..Limits::default()
    };
    [Limits::default(), tight, one]
}

/// Checks a text the reader accepted against the tree; returns how many limit sets made
/// the reader's request fall back to the tree decoder.
fn same_as_tree(text: &str, call: &DirectCall<'_>) -> usize {
    let node = parse_node(text.as_bytes(), json::Limits::default())
        .unwrap_or_else(|e| panic!("{text}: read directly but not JSON: {e:?}"));
    let m = node.as_obj().expect("an object");
    assert!(
        m.iter().all(|(k, _)| k == "request" || k == "ctx"),
        "{text}"
    );
    let ctx = CallContext::from_tree(Members::get(m, "ctx").expect("ctx"));
    assert_eq!(ctx.as_ref(), Ok(&call.ctx.to_context()), "{text}");
    let tree: Request<'_, RecommendRequest> =
        Members::get(m, "request").expect("request").request(true);
    let direct = Request::Direct(&call.request);
    assert_eq!(tree.surface(), direct.surface(), "{text}");
    let mut fell_back = 0;
    for limits in limit_sets() {
        assert_eq!(
            resolution(&direct, &limits),
            resolution(&tree, &limits),
            "{text} under {limits:?}"
        );
        fell_back += usize::from(call.request.resolve(&limits).is_none());
    }
    fell_back
}

/// A member value as a client might write it: mostly what the reader takes, now and then
/// what it leaves to the tree.
fn value(r: &mut Rng, name: &str) -> String {
    let strings: &[&str] = match name {
        "surface" => &["home", " home ", "", "a/b", "..", "hö", "h\\u006fme", "pdp"],
        "segment" => &["default", "", " vip ", "a/b", "x\\ty", "seg"],
        "k" | "seed" => &[
            "20",
            "0",
            "-1",
            "5",
            "1",
            "007",
            "20.0",
            "2e1",
            "-0",
            "200",
            "201",
            "123456789012345678",
            "1234567890123456789",
            "99999999999999999999",
            "1.",
        ],
        "include_reasons" | "include_trace" => &["true", "false", "tru", "falsey", "1"],
        "explain" => &[
            "none",
            "NONE",
            "summary",
            " Full ",
            "",
            "bogus",
            "sum\\u006dary",
        ],
        "now" => &[
            "2026-01-02T01:00:00Z",
            " 2026-01-02T01:00:00Z ",
            "bad",
            "",
            "2026-01-02T01:00:00+02:00",
        ],
        "tenant" => &["t1", "", " t ", "demo", "d\\\"q"],
        _ => &["u1", "", "  ", "anon-0001", "a\\\"b", "é€", "x\u{7f}"],
    };
    match r.index(30) {
        0 => return r.pick(&["null", "5", "[]", "{}", "\"20\""]).to_string(),
        1 if name == "k" || name == "seed" => return format!("\"{}\"", r.pick(strings)),
        _ => {}
    }
    // Mostly the first (good) spelling.
    let s = match r.index(3) {
        0 => r.pick(strings),
        _ => strings[0],
    };
    match name {
        "k" | "seed" | "include_reasons" | "include_trace" => s.to_string(),
        "user" => object(r, &["user_id", "anonymous_id", "session_id"]),
        "options" => object(r, &["include_reasons", "explain", "include_trace", "seed"]),
        "candidates" => object(r, &["include_ids", "exclude_ids"]),
        "include_ids" | "exclude_ids" => ids(r),
        "request" => object(
            r,
            &["surface", "segment", "k", "user", "options", "candidates"],
        ),
        "ctx" => object(r, &["now", "request_id", "tenant"]),
        _ => format!("\"{s}\""),
    }
}

fn ids(r: &mut Rng) -> String {
    let n = r.index(6);
    let items: Vec<String> = (0..n)
        .map(|_| match r.index(40) {
            0 => "null".to_string(),
            1 => "7".to_string(),
            2 => "\" \"".to_string(),
            3 => "\"s\\u006bu\"".to_string(),
            4 => "\" sku-1 \"".to_string(),
            _ => format!("\"sku-{}\"", r.index(4)),
        })
        .collect();
    format!("[{}]", items.join(&ws(r, ",")))
}

/// `token` with JSON whitespace (or, rarely, something that is not) around it.
fn ws(r: &mut Rng, token: &str) -> String {
    let space = |r: &mut Rng| match r.index(400) {
        0 => "\u{a0}",
        1..=20 => " ",
        21..=30 => "\n ",
        31..=36 => "\t",
        37..=40 => "\r\n",
        _ => "",
    };
    format!("{}{token}{}", space(r), space(r))
}

/// An object with most of `keys` once each, in any order; now and then a key repeated,
/// differently cased, unknown, or escaped, or another member the reader does not take.
pub(super) fn object(r: &mut Rng, keys: &[&str]) -> String {
    // The members a call needs are left out less often.
    let needed = ["request", "ctx", "surface", "user", "now", "tenant"];
    let mut names: Vec<String> = keys
        .iter()
        .filter(|k| r.index(if needed.contains(k) { 40 } else { 4 }) != 0)
        .map(|k| k.to_string())
        .collect();
    match r.index(80) {
        0 => names.push(keys[r.index(keys.len())].to_string()),
        1 => names.push(keys[r.index(keys.len())].to_uppercase()),
        2 => names.push(
            r.pick(&["context", "anchors", "signals", "weights", "x"])
                .to_string(),
        ),
        3 => names.push("s\\u0075rface".to_string()),
        _ => {}
    }
    for i in (1..names.len()).rev() {
        names.swap(i, r.index(i + 1));
    }
    let parts: Vec<String> = names
        .iter()
        .map(|k| format!("\"{k}\"{}{}", ws(r, ":"), value(r, &k.to_lowercase())))
        .collect();
    format!("{}{}{}", ws(r, "{"), parts.join(&ws(r, ",")), ws(r, "}"))
}

/// A byte-wise mutation of `text` (kept UTF-8): a byte dropped, one inserted, or cut short.
fn mutate(r: &mut Rng, text: &str) -> String {
    let mut s = text.to_string();
    let mut at = r.index(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    match r.index(3) {
        0 if at < s.len() => {
            s.remove(at);
        }
        1 => s.insert(
            at,
            *r.pick(&[
                '{', '}', '[', ']', '"', ',', ':', '\\', ' ', '0', '-', 'e', '.',
            ]),
        ),
        _ => s.truncate(at),
    }
    s
}

#[test]
fn direct_reading_is_the_tree_decoders() {
    let mut r = Rng::new(0x0d1e_c7ca_11ed_2026);
    let rounds = match cfg!(debug_assertions) {
        true => 4_000,
        false => 40_000,
    };
    let (mut accepted, mut fell_back, mut rejected) = (0, 0, 0);
    for i in 0..rounds {
        let mut text = match r.index(40) {
            // Not a call's shape: a context alone.
            0 => value(&mut r, "ctx"),
            _ => object(&mut r, &["request", "ctx"]),
        };
        if i % 4 == 3 {
            text = mutate(&mut r, &text);
        }
        match read(&text, &json::Limits::default()) {
            Some(call) => {
                accepted += 1;
                fell_back += same_as_tree(&text, &call);
            }
            None => rejected += 1,
        }
    }
    // Texts read directly, texts left to the tree, and fallbacks at resolution, in numbers.
    assert!(
        accepted > rounds / 20 && rejected > rounds / 4 && fell_back > 200,
        "{accepted} accepted, {fell_back} fell back, {rejected} left to the tree"
    );
}

#[test]
fn hand_written_calls_read_directly_as_the_tree_reads_them() {
    let ctx = r#""ctx":{"now":"2026-01-02T01:00:00Z","tenant":"t","request_id":"r"}"#;
    for (request, direct) in [
        (r#"{"surface":"home","user":{"anonymous_id":"a"}}"#, true),
        (
            r#"{"surface":"home","segment":"","k":20,"user":{"user_id":"u"},"options":{}}"#,
            true,
        ),
        (
            r#"{"surface":" home ","user":{"session_id":" s "},"candidates":{"include_ids":["a"," a ","","b","a"]}}"#,
            true,
        ),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"k":-0,"options":{"seed":-12}}"#,
            true,
        ),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"k":20.0}"#,
            false,
        ),
        (r#"{"surface":"home","user":{"user_id":"u"},"K":20}"#, false),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"k":null}"#,
            false,
        ),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"surface":"pdp"}"#,
            false,
        ),
        (r#"{"surface":"h\u006fme","user":{"user_id":"u"}}"#, false),
        (r#"{"surface":"home","user":{"user_id":""}}"#, false),
        (r#"{"surface":"a/b","user":{"user_id":"u"}}"#, false),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"options":{"explain":"loud"}}"#,
            false,
        ),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"anchors":{"item_ids":[]}}"#,
            false,
        ),
        (
            r#"{"surface":"home","user":{"user_id":"u"},"candidates":{"include_ids":[null]}}"#,
            false,
        ),
    ] {
        let text = format!(r#"{{"request":{request},{ctx}}}"#);
        let call = read(&text, &json::Limits::default());
        assert_eq!(call.is_some(), direct, "{text}");
        if let Some(call) = call {
            same_as_tree(&text, &call);
        }
    }
    for text in [
        format!(r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}}}},{ctx},"signals":{{}}}}"#),
        format!(r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}}}},{ctx}}} x"#),
        format!(r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}}}},{ctx},}}"#),
        format!("\u{feff}{{\"request\":{{}},{ctx}}}"),
        r#"{"request":{"surface":"home","user":{"user_id":"u"}},"ctx":{"now":"2026-01-02T01:00:00Z","tenant":""}}"#.to_string(),
        r#"{"request":{"surface":"home","user":{"user_id":"u"}},"ctx":{"now":"2026-01-02T01:00:00Z","tenant":"t","roles":["a"]}}"#.to_string(),
    ] {
        assert!(read(&text, &json::Limits::default()).is_none(), "{text}");
    }
    // The parser's limits are met before reading: a text over the size limit is the tree's.
    let text = format!(r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}}}},{ctx}}}"#);
    let small = json::Limits {
        max_bytes: text.len() - 1,
        ..json::Limits::default()
    };
    assert!(read(&text, &small).is_none());
    assert!(read(&text, &json::Limits::default()).is_some());
    let few = json::Limits {
        max_members: 4,
        ..json::Limits::default()
    };
    assert!(read(&text, &few).is_none());
}

/// `Engine::call`'s `recommend` answer to `input` with the call read by the tree decoder.
pub(super) fn by_tree(engine: &Engine, input: &str) -> Result<String, ApiError> {
    let v = parse_node(input.as_bytes(), json::Limits::default())?;
    let _busy = engine.enter()?;
    engine
        .serving_op(Op::Recommend, &v, engine.text_form())?
        .into_text()
}

/// The conformance corpus's calls: every input the reader accepts reads as the tree reads
/// it, and `Engine::call` answers every `recommend` case (answers and errors) as the tree
/// path answers it.
#[test]
fn corpus_calls_answer_alike_with_the_direct_reader() {
    let (mut calls, mut direct) = (0, 0);
    for f in &crate::serve::answer::tests::corpus_case_files() {
        let case = std::fs::read_to_string(f).unwrap();
        let split = crate::api::call_static("conformance_split", &case).unwrap();
        let split = json::parse(split.as_bytes()).unwrap();
        let member = |k: &str| {
            let v = split.as_object()?.get(k)?;
            v.as_str().map(str::to_owned)
        };
        let (Some(op), Some(input)) = (member("call"), member("input")) else {
            continue;
        };
        if let Some(call) = read(&input, &json::Limits::default()) {
            direct += 1;
            same_as_tree(&input, &call);
        }
        if op != "recommend" {
            continue;
        }
        let engine = match member("engine") {
            Some(o) => Engine::with_options_json(&o).unwrap(),
            None => Engine::new(),
        };
        if let Some(docs) = member("documents") {
            if engine.call("load_snapshot", &docs).is_err() {
                continue;
            }
        }
        calls += 1;
        let by_tree = by_tree(&engine, &input);
        assert_eq!(engine.call("recommend", &input), by_tree, "{}", f.display());
    }
    assert!(
        calls > 20 && direct > 10,
        "{calls} calls, {direct} read directly"
    );
}

/// The reader's path check is `is_path_safe` on every string it takes (trimmed, without a
/// quote, backslash or control byte below 0x20): dots, slashes, DEL, non-ASCII controls,
/// Unicode spaces that trim, and plain names.
#[test]
fn path_safe_is_is_path_safe_on_what_the_reader_takes() {
    use super::direct::path_safe;
    use crate::request::is_path_safe;
    let alphabet = [
        'a', 'Z', '0', '-', '_', '.', '/', ' ', ':', '~', '\u{7f}', 'é', '\u{85}', '\u{9f}',
        '\u{a0}', '\u{2028}', '\u{3000}', '\u{feff}',
    ];
    let mut g = Rng::new(0x9a7b_5afe);
    let (mut safe, mut unsafe_) = (0, 0);
    for _ in 0..40_000 {
        let len = g.index(6);
        let s: String = (0..len).map(|_| *g.pick(&alphabet)).collect();
        let t = super::request::trimmed(&s);
        assert_eq!(path_safe(t), is_path_safe(t), "{t:?}");
        match path_safe(t) {
            true => safe += 1,
            false => unsafe_ += 1,
        }
    }
    for t in [
        "", ".", "..", "...", "a/b", "\u{7f}", "a.b", "home", "é", "\u{85}",
    ] {
        assert_eq!(path_safe(t), is_path_safe(t), "{t:?}");
    }
    assert!(
        safe > 5_000 && unsafe_ > 5_000,
        "{safe} safe, {unsafe_} not"
    );
}
