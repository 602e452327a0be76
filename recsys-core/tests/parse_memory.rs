//! Parse memory stays within a stated multiple of the input (docs/formats.md): a parsed tree
//! retains at most 16 bytes per input byte, and parsing never holds more than 32 at its
//! peak, whatever the shape (numbers, strings, empty containers, wide objects). Measured
//! with a counting allocator over the bytes actually requested.

use std::sync::atomic::Ordering::SeqCst;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{CURRENT, PEAK};

/// (retained, peak) bytes per input byte for parsing `text`.
fn cost(text: &str) -> (f64, f64) {
    let base = CURRENT.load(SeqCst);
    PEAK.store(base, SeqCst);
    let v = recsys_core::json::parse(text.as_bytes()).unwrap();
    let retained = CURRENT.load(SeqCst) - base;
    let peak = PEAK.load(SeqCst) - base;
    drop(v);
    let n = text.len() as f64;
    (retained as f64 / n, peak as f64 / n)
}

fn array_of(item: &str, n: usize) -> String {
    let mut s = String::with_capacity(n * (item.len() + 1) + 2);
    s.push('[');
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s.push(']');
    s
}

#[test]
fn parse_memory_is_a_bounded_multiple_of_the_input() {
    assert_eq!(std::mem::size_of::<recsys_core::json::Value>(), 32);
    let n = 500_000;
    let mut wide = String::from("{");
    for i in 0..n / 4 {
        if i > 0 {
            wide.push(',');
        }
        wide.push_str(&format!("\"{i}\":0"));
    }
    wide.push('}');
    let shapes = [
        ("numbers", array_of("0", n)),
        ("long numbers", array_of("-123456789.123456789e-12", n / 8)),
        ("empty strings", array_of("\"\"", n)),
        ("short strings", array_of("\"a\"", n)),
        ("empty objects", array_of("{}", n)),
        ("empty arrays", array_of("[]", n)),
        ("small objects", array_of("{\"a\":0}", n / 4)),
        ("wide object", wide),
    ];
    for (name, text) in shapes {
        let (retained, peak) = cost(&text);
        eprintln!(
            "{name}: {} bytes, retained {retained:.1}x, peak {peak:.1}x",
            text.len()
        );
        assert!(
            retained <= 16.0,
            "{name}: retained {retained:.1}x the input"
        );
        assert!(peak <= 32.0, "{name}: peak {peak:.1}x the input");
    }
}
