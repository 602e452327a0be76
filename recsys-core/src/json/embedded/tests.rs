//! `embedded_document` against the call's own parser (`json::parse_with`, which read these
//! literals before): the same text (whitespace runs aside) and the same refusals, on random
//! and adversarial literals.

use super::embedded_document;
use crate::json::{self, Value};
use crate::tests::rng::Rng;

/// The parser's reading of `lit` as the load read it before (no byte limit, `\u0000` refused).
fn parsed(lit: &str) -> Option<String> {
    let limits = json::Limits {
        max_bytes: usize::MAX,
        ..json::Limits::default()
    };
    match json::parse_with(lit.as_bytes(), limits) {
        Ok(Value::String(s)) => Some(s),
        Ok(other) => panic!("a literal parsed as {other:?}"),
        Err(_) => None,
    }
}

/// Each run of JSON whitespace outside the document's strings as one space from its first
/// line break, tab or carriage return on (spaces before it kept), character by character (the
/// plain statement of what the unescaper writes).
fn collapsed(s: &str) -> String {
    let (mut out, mut in_string, mut escaped, mut gap) = (String::new(), false, false, false);
    for c in s.chars() {
        if !in_string && matches!(c, '\t' | '\n' | '\r') {
            gap = true;
            continue;
        }
        if !in_string && c == ' ' {
            if !gap {
                out.push(' ');
            }
            continue;
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
    }
    if gap {
        out.push(' ');
    }
    out
}

/// The unescaper and the parser agree on `lit`: the same text, collapsed, and its length as
/// written checked against the limit; or both refuse (the unescaper also refuses anything
/// or before the opening quote, which the parser allows when it is whitespace).
fn agree(lit: &str) {
    let ours = embedded_document(lit, usize::MAX);
    match parsed(lit) {
        Some(s) => {
            let Some(doc) = ours else {
                let ws = [' ', '\t', '\n', '\r'];
                assert!(lit.starts_with(ws) || lit.ends_with(ws), "refused {lit:?}");
                return;
            };
            assert_eq!(String::from_utf8(doc).unwrap(), collapsed(&s), "{lit:?}");
            assert!(embedded_document(lit, s.len()).is_some(), "{lit:?}");
            if !s.is_empty() {
                assert_eq!(embedded_document(lit, s.len() - 1), None, "{lit:?}");
            }
        }
        None => assert_eq!(ours, None, "{lit:?} took what the parser refuses"),
    }
}

/// Pieces of a literal's body: plain text of every width, spaces, every escape (the document's
/// own quotes and backslashes among them), `\u` escapes of every kind and case, surrogate
/// pairs whole and broken, raw control bytes and quotes, and multi-byte characters.
const PIECES: &[&str] = &[
    "a",
    "sku-0000001",
    "brand:b01616 and more plain text",
    " ",
    "        ",
    "\\n",
    "\\n      ",
    "\\r\\n",
    "\\t",
    "\\\"",
    "\\\\",
    "\\\\\\\"",
    "\\/",
    "\\b",
    "\\f",
    "\\u0020",
    " \\u0020 ",
    "\\n\\u0020 ",
    "\\u0022",
    "\\u005c",
    "\\u005C",
    "\\u0041",
    "\\u00e9",
    "\\u00E9",
    "\\u20ac",
    "\\uffff",
    "\\ud83d\\ude00",
    "\\uD83D\\uDE00",
    "\\udbff\\udfff",
    "\\ud800",
    "\\ud800x",
    "\\ud800\\u0041",
    "\\ud800\\ud800",
    "\\udc00",
    "\\u0000",
    "\\u00",
    "\\u00g0",
    "\\x",
    "\\",
    "\\'",
    "\"",
    "\u{1}",
    "\u{1f}",
    "\t",
    "\n",
    "\u{7f}",
    "é",
    "€",
    "😀",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
];

/// [`agree`] on the literal of `body`: whole, cut at a random point, and cut then closed.
fn agree_whole_and_cut(rng: &mut Rng, body: &str) {
    let lit = format!("\"{body}\"");
    agree(&lit);
    let cut = rng.index(lit.len() + 1);
    if let Some(head) = lit.get(..cut) {
        agree(head);
        agree(&format!("{head}\""));
    }
}

/// `rounds` random literals (a tenth of them long) of pieces `pick` draws, each checked with
/// [`agree`] whole, cut at a random point, and cut then closed.
fn random_literals(seed: u64, rounds: usize, pick: impl Fn(&mut Rng) -> &'static str) {
    let mut rng = Rng::new(seed);
    for round in 0..rounds {
        let n = rng.index(if round % 10 == 0 { 200 } else { 24 });
        // A plain prefix of 0 to 8 bytes moves every piece across a word's edges.
        let mut body = "p".repeat(rng.index(9));
        for _ in 0..n {
            body.push_str(pick(&mut rng));
        }
        agree_whole_and_cut(&mut rng, &body);
    }
}

#[test]
fn random_literals_read_as_the_parser_reads_them() {
    // Mostly the escapes and text a document embedded as a string is made of.
    random_literals(0x5eed_1e55_0fca_1100, 20_000, |rng| {
        if rng.chance(600) {
            *rng.pick(&PIECES[..18])
        } else {
            *rng.pick(PIECES)
        }
    });
}

#[test]
fn every_byte_value_at_every_position_reads_as_the_parser_reads_it() {
    let base = r#""{\n  \"a\": [\"x y\", \"\\\"q\\\\\"], \"b\" : 1 }\n""#;
    assert!(parsed(base).is_some());
    let mut extra: Vec<String> = (0u8..0x80).map(|c| (c as char).to_string()).collect();
    extra.extend(["é", "€", "😀", "\u{80}", "\u{10ffff}"].map(String::from));
    for at in 0..=base.len() {
        for x in &extra {
            let mut lit = base.to_string();
            lit.insert_str(at, x);
            agree(&lit);
            let mut cut = base.to_string();
            cut.replace_range(at..(at + 1).min(base.len()), x);
            agree(&cut);
        }
        // Every prefix (an unterminated literal), and every prefix closed.
        agree(&base[..at]);
        agree(&format!("{}\"", &base[..at]));
    }
}

/// Scalars, pieces of strings and keys of [`document`]'s values.
const SCALARS: [&str; 5] = ["1", "-2.5e3", "true", "null", "0"];
const STRING_PIECES: [&str; 10] = [
    "a b",
    " ",
    "\\\"",
    "\\\\",
    "\\n",
    "\\u0020",
    "é",
    "\\/",
    "x\\\\\\\"y",
    "\t",
];
const KEYS: [&str; 3] = ["\"k\"", "\"a b\"", "\"\\\"\""];

/// A random JSON value written with random whitespace, strings holding spaces, the
/// document's own escapes and non-ASCII text.
fn document(rng: &mut Rng, depth: usize, out: &mut String) {
    let ws = |rng: &mut Rng, out: &mut String| {
        for _ in 0..rng.index(4) {
            out.push(*rng.pick(&[' ', '\n', '\t', '\r', ' ']));
        }
    };
    ws(rng, out);
    match if depth > 3 {
        rng.index(3)
    } else {
        rng.index(5)
    } {
        0 => {
            let scalar = *rng.pick(&SCALARS);
            out.push_str(scalar);
        }
        1 | 2 => {
            out.push('"');
            for _ in 0..rng.index(6) {
                let piece = *rng.pick(&STRING_PIECES);
                out.push_str(piece);
            }
            out.push('"');
        }
        3 => {
            out.push('[');
            for k in 0..rng.index(4) {
                if k > 0 {
                    out.push(',');
                }
                document(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push(']');
        }
        _ => {
            out.push('{');
            for k in 0..rng.index(4) {
                if k > 0 {
                    out.push(',');
                }
                ws(rng, out);
                let key = *rng.pick(&KEYS);
                out.push_str(key);
                ws(rng, out);
                out.push(':');
                document(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push('}');
        }
    }
    ws(rng, out);
}

#[test]
fn an_embedded_document_parses_to_the_same_value_in_fewer_bytes() {
    let mut rng = Rng::new(0xd0c0_fd0c_5eed);
    for _ in 0..3_000 {
        let mut text = String::new();
        document(&mut rng, 0, &mut text);
        let lit = json::to_string(&Value::str(&text));
        let doc = String::from_utf8(embedded_document(&lit, usize::MAX).unwrap()).unwrap();
        assert!(doc.len() <= text.len());
        // Same value when the document is JSON, the same refusal when it is not (a raw tab
        // or newline inside a string).
        let (a, b) = (json::parse(text.as_bytes()), json::parse(doc.as_bytes()));
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{text:?}: {a:?} against {doc:?}: {b:?}"),
        }
    }
}

#[test]
fn an_indented_artifact_shrinks_to_its_tokens() {
    let text = "{\n  \"items\": [\n    {\n      \"item_id\": \"sku 1\",\n      \"tags\": [\n        \"a:1\"\n      ]\n    }\n  ]\n}\n";
    let lit = json::to_string(&Value::str(text));
    let doc = embedded_document(&lit, text.len()).unwrap();
    assert_eq!(
        String::from_utf8(doc).unwrap(),
        r#"{ "items": [ { "item_id": "sku 1", "tags": [ "a:1" ] } ] } "#
    );
    // The limit is on the document as written, not as shortened.
    assert_eq!(embedded_document(&lit, text.len() - 1), None);
    assert_eq!(embedded_document("x", 10), None);
    assert_eq!(embedded_document("", 10), None);
}

#[test]
fn unescaping_is_linear() {
    let row =
        "{\n      \"item_id\": \"sku-0000001\",\n      \"tags\": [\"a:\\u00e9\", \"b\"]\n    },";
    let lit = |n: usize| json::to_string(&Value::str(row.repeat(n)));
    let (small, large) = (lit(2_000), lit(20_000));
    crate::tests::scaling::assert_scales_linearly("embedded_document", 2_000, |n| {
        let lit = if n == 2_000 { &small } else { &large };
        assert!(embedded_document(lit, usize::MAX).is_some());
    });
}

/// Every piece placed at every offset of four eight-byte words (a plain prefix of 0 to 33
/// bytes), and indentation of 0 to 40 spaces after a line break inside and outside the
/// document's strings, followed by what ends a run or a gap: each escape, run end and
/// indentation end lands before, on and after a word's edge, and near the literal's end.
#[test]
fn every_piece_at_every_offset_of_a_word_reads_as_the_parser_reads_it() {
    let tails = [
        "",
        "x",
        "\\\"k\\\": 1",
        " plain text longer than a window",
        "\\n    \\\"z\\\"",
        "\u{1}",
    ];
    for pad in 0..=33 {
        let prefix = "p".repeat(pad);
        for piece in PIECES {
            for tail in tails {
                let lit = format!("\"{prefix}{piece}{tail}\"");
                agree(&lit);
                agree(&lit[..lit.len() - 1]);
            }
        }
        // Every pair of layout pieces (see [`LAYOUT`]), open and closed: each escape the
        // word loop takes on, before and after a word's edge, indentation ending everywhere.
        for (a, b) in LAYOUT
            .iter()
            .flat_map(|a| LAYOUT.iter().map(move |b| (a, b)))
        {
            let lit = format!("\"{prefix}{a}{b}{a}\"");
            agree(&lit);
            agree(&lit[..lit.len() - 1]);
        }
        for spaces in 0..=40 {
            let indent = " ".repeat(spaces);
            for (open, next) in [
                ("", "\\\"a\\\""),
                ("\\\"in ", "\\\""),
                ("", "}"),
                ("", "\\t"),
                ("", "\\u0020 x"),
                ("", ""),
            ] {
                let lit = format!("\"{prefix}{open}\\n{indent}{next}\"");
                agree(&lit);
                agree(&lit[..lit.len() - 1]);
            }
        }
    }
}

/// Pieces of the literal of an indented artifact (its quotes, line breaks and indentation
/// dense, as the pipeline writes it), with the escapes a word may not take among them.
const LAYOUT: &[&str] = &[
    "\\\"",
    "\\\"item_id\\\": \\\"",
    "sku-0051083",
    "\\\",",
    "\\n",
    "\\n  ",
    "\\n          ",
    "\\n        },",
    "{",
    "},",
    "]",
    ": ",
    "191",
    "\\\"count\\\": ",
    "x",
    " ",
    "\\\\",
    "\\\\\\\"",
    "\\t",
    "\\r\\n   ",
    "\\u0020",
    "\\u00e9",
    "é",
    "\\/",
    "\u{1}",
    "\\",
    "\\x",
    "\\n\\n",
    "\\n   \\n",
    "\\n  \\\\",
];

/// Literals dense in the escapes the word loop takes (`\"`, line breaks and indentation),
/// with those it does not take among them, read as the parser reads them.
#[test]
fn literals_of_layout_pieces_read_as_the_parser_reads_them() {
    random_literals(0x00c0_ffee_d00d_0003, 30_000, |rng| {
        if rng.chance(850) {
            *rng.pick(&LAYOUT[..16])
        } else if rng.chance(500) {
            *rng.pick(LAYOUT)
        } else {
            *rng.pick(PIECES)
        }
    });
}

/// Artifacts indented as the pipeline writes them, embedded as Go writes a string: the word
/// loop's copy is the document's tokens shortened, held to the document's length as written.
#[test]
fn indented_artifacts_unescape_to_their_tokens() {
    let mut rng = Rng::new(0x1dea_0003);
    for rows in [0, 1, 2, 7, 300] {
        let mut text = String::from("{\n  \"v\": 1,\n  \"neighbors\": [");
        for r in 0..rows {
            let sep = if r == 0 { "" } else { "," };
            text.push_str(&format!(
                "{sep}\n    {{\n      \"item_id\": \"sku-{:07}\",\n      \"items\": [",
                rng.below(10_000_000)
            ));
            for k in 0..rng.index(6) {
                let sep = if k == 0 { "" } else { "," };
                text.push_str(&format!(
                    "{sep}\n        {{\n          \"item_id\": \"s \\\"{}\\\\\",\n          \"count\": {}\n        }}",
                    rng.below(1000),
                    rng.below(1000)
                ));
            }
            text.push_str("\n      ]\n    }");
        }
        text.push_str("\n  ]\n}\n");
        assert!(json::parse(text.as_bytes()).is_ok(), "{text}");
        let mut lit = String::new();
        json::write_go_string(&mut lit, &text);
        agree(&lit);
        let doc = embedded_document(&lit, text.len()).unwrap();
        assert_eq!(String::from_utf8(doc).unwrap(), collapsed(&text));
        assert_eq!(embedded_document(&lit, text.len() - 1), None);
    }
}

/// Separators replayed from their slots on this thread so far.
fn replayed() -> usize {
    super::separators::REPLAYED.with(std::cell::Cell::get)
}

/// Tag stems of [`layout_document`]'s content rows.
const TAGS: [&str; 4] = ["brand:b0", "category:c1", "attr:a2", "margin:low"];

/// A document of `rows` rows of `kind` (0 popularity, 1 co-occurrence, 2 content) in the
/// pipeline's layout, indented by `step` spaces a level (every row by a width of its own when
/// `ragged`, so its separators differ from every other row's), with ids holding the
/// document's own quotes, backslashes, line breaks and separator bytes now and then.
fn layout_document(rng: &mut Rng, kind: usize, rows: usize, step: usize, ragged: bool) -> String {
    let id = |rng: &mut Rng| -> String {
        let odd: [&str; 9] = [
            "\\\"",
            "\\\\",
            "\\n",
            ", ",
            ": ",
            "{ }",
            "[ ]",
            "  ",
            "\\\", \\\"",
        ];
        let mut s = format!("sku-{:07}", rng.below(10_000_000));
        if rng.chance(150) {
            let piece = *rng.pick(&odd[..]);
            s.insert_str(rng.index(4), piece);
        }
        s
    };
    let mut text = String::from("{\n");
    let pad = |n: usize| " ".repeat(n * step);
    text.push_str(&format!("{}\"v\": 1,\n{}\"items\": [", pad(1), pad(1)));
    for r in 0..rows {
        let extra = if ragged {
            " ".repeat(r % 70)
        } else {
            String::new()
        };
        let ind = |n: usize| format!("\n{}{extra}", pad(n));
        let sep = if r == 0 { "" } else { "," };
        text.push_str(&format!(
            "{sep}{}{{{}\"item_id\": \"{}\",",
            ind(2),
            ind(3),
            id(rng)
        ));
        match kind {
            0 => text.push_str(&format!("{}\"count\": {}", ind(3), rng.below(1_000_000))),
            1 => {
                text.push_str(&format!("{}\"items\": [", ind(3)));
                for k in 0..rng.index(8) {
                    let sep = if k == 0 { "" } else { "," };
                    text.push_str(&format!(
                        "{sep}{}{{{}\"item_id\": \"{}\",{}\"count\": {}{}}}",
                        ind(4),
                        ind(5),
                        id(rng),
                        ind(5),
                        rng.below(1000),
                        ind(4)
                    ));
                }
                text.push_str(&format!("{}]", ind(3)));
            }
            _ => {
                text.push_str(&format!("{}\"tags\": [", ind(3)));
                for k in 0..rng.index(7) {
                    let sep = if k == 0 { "" } else { "," };
                    let tag = *rng.pick(&TAGS[..]);
                    text.push_str(&format!("{sep}{}\"{tag}{}\"", ind(4), rng.below(300)));
                }
                text.push_str(&format!("{}]", ind(3)));
            }
        }
        text.push_str(&format!("{}}}", ind(2)));
    }
    text.push_str(&format!("\n{}]\n}}\n", pad(1)));
    text
}

/// Documents in the pipeline's layouts (each kind, indented by 1 to 4 spaces a level, rows
/// alike or each indented its own way so that the slots are taken over and over): the
/// separators are written from their slots, and the copy is the document's tokens, held to
/// the document's length as written, as the parser reads the literal.
#[test]
fn a_layouts_separators_are_written_from_their_slots_as_the_parser_reads_them() {
    let mut rng = Rng::new(0x5e9a_2a70_0001);
    for round in 0..240 {
        let (kind, step, ragged) = (round % 3, 1 + round % 4, round % 5 == 4);
        let rows = *rng.pick(&[0, 1, 2, 3, 10, 60, 200]);
        let text = layout_document(&mut rng, kind, rows, step, ragged);
        assert!(json::parse(text.as_bytes()).is_ok(), "{text}");
        let mut lit = String::new();
        json::write_go_string(&mut lit, &text);
        let before = replayed();
        agree(&lit);
        let doc = embedded_document(&lit, text.len()).unwrap();
        assert_eq!(String::from_utf8(doc).unwrap(), collapsed(&text), "{text}");
        assert_eq!(embedded_document(&lit, text.len() - 1), None);
        if rows >= 10 && !ragged {
            // Two `agree` runs and one more: most rows' separators come from a slot.
            assert!(
                replayed() - before >= 3 * rows,
                "{} for {rows} rows",
                replayed() - before
            );
        }
    }
}

/// Every byte of a short layout literal replaced by each byte that ends, continues or breaks
/// a separator, and removed: read as the parser reads it, with its separators replayed.
#[test]
fn every_byte_of_a_layout_literal_replaced_or_removed_reads_as_the_parser_reads_it() {
    let mut rng = Rng::new(0x5e9a_2a70_0002);
    for kind in 0..3 {
        let text = layout_document(&mut rng, kind, 4, 2, false);
        let mut lit = String::new();
        json::write_go_string(&mut lit, &text);
        let before = replayed();
        agree(&lit);
        assert!(replayed() > before, "{lit}");
        let subs = [
            "\"", "\\", "n", " ", ",", ":", "{", "]", "x", "\u{1}", "é", "t",
        ];
        for at in 0..lit.len() {
            if !lit.is_char_boundary(at) || !lit.is_char_boundary(at + 1) {
                continue;
            }
            for x in subs {
                let mut changed = lit.clone();
                changed.replace_range(at..at + 1, x);
                agree(&changed);
            }
            let mut removed = lit.clone();
            removed.remove(at);
            agree(&removed);
        }
    }
}

/// Pieces of separators (the document's quotes, line breaks and indentation, `,:{}[]` and
/// spaces) with values and the escapes a separator may not hold among them: the same bytes
/// come inside and outside the document's strings, before and after every kind of end.
const SEPARATOR_PIECES: &[&str] = &[
    "\\\"",
    "\\n",
    "\\n    ",
    "\\n        ",
    ", ",
    ": ",
    ",",
    "{",
    "}",
    "[",
    "]",
    " ",
    "   ",
    "x",
    "sku-1",
    "\\\\",
    "\\t",
    "\\/",
    "\\u0020",
    "\u{1}",
    "\"",
];

/// Literals of a random row of [`SEPARATOR_PIECES`] said again and again, its values (and
/// now and then any piece) drawn anew each time: separators come again in every string state
/// and before every kind of end, and are taken from their slots. Each literal is checked
/// whole, cut at a random point, and cut then closed.
#[test]
fn literals_of_separator_pieces_read_as_the_parser_reads_them() {
    let mut rng = Rng::new(0x5e9a_2a70_0003);
    let before = replayed();
    for _ in 0..6_000 {
        let row: Vec<&str> = (0..1 + rng.index(12))
            .map(|_| *rng.pick(&SEPARATOR_PIECES[..13]))
            .collect();
        let mut body = "p".repeat(rng.index(9));
        for _ in 0..2 + rng.index(6) {
            for piece in &row {
                let piece = if rng.chance(50) {
                    *rng.pick(SEPARATOR_PIECES)
                } else {
                    piece
                };
                body.push_str(piece);
            }
            let value = *rng.pick(&SEPARATOR_PIECES[13..15]);
            body.push_str(value);
        }
        agree_whole_and_cut(&mut rng, &body);
    }
    assert!(replayed() - before > 5_000, "{}", replayed() - before);
}
