//! Regression tests for issues in `recsys_core::json::canonical_text` found by the
//! `canonical_json` fuzz target, all fixed. Run them with
//!
//!   cargo test --manifest-path fuzz/Cargo.toml --test canonical_numbers
//!
//! Details in `regressions/README.md`.

use recsys_core::json::{canonical_text, etag};

/// F1: the canonical text of a valid document must canonicalize again to itself. `[1e1000]`
/// (8 bytes) canonicalizes to a 1001-digit literal, which the parser refuses
/// (`RECSYS_JSON_NUMBER_TOO_LONG`, limit 1000 characters), so a stored canonical document can
/// not be re-submitted. (The same expansion is an amplification, `1e131071`: 10 bytes in,
/// 131 072 characters out; see the README; not asserted here because PostgreSQL parity
/// requires the expansion.)
#[test]
fn f1_canonical_text_is_a_fixed_point_for_large_exponents() {
    // Fixed by refusing expansions past the literal limit (a documented difference).
    let err = canonical_text(b"[1e1000]").expect_err("[1e1000] expands past 1000 characters");
    assert_eq!(err.kind.code(), "RECSYS_JSON_NUMBER_TOO_LONG");
    for lit in ["[1e999]", "[-1e-997]", "{\"a\": 12.5e990}"] {
        let c = canonical_text(lit.as_bytes()).expect("within the limit");
        let again = canonical_text(c.as_bytes());
        assert_eq!(again.as_deref(), Ok(c.as_str()), "{lit}");
    }
}

/// F2: exponents near `i64::MAX` overflow `point`/`scale` in `numeric_text`
/// (`recsys-core/src/json/canonical.rs`, `int_part.len() as i64 + exp` and `frac_len - exp`).
/// With overflow checks (debug, fuzz builds) this panics; in release it wraps and the number
/// canonicalizes to `0`, giving `1e9223372036854775807` the ETag of `0`. PostgreSQL rejects
/// both as out of range for `numeric`, so the expected answer is an error.
#[test]
fn f2_huge_exponents_are_out_of_range_not_a_panic_or_zero() {
    for input in ["1e9223372036854775807", "1.5e-9223372036854775807", "[1e26701234567890123456]"] {
        let got = std::panic::catch_unwind(|| canonical_text(input.as_bytes()));
        match got {
            Err(_) => panic!("canonical_text panicked on {input}"),
            Ok(Ok(c)) => panic!("canonical_text accepted {input} as {c:?}"),
            Ok(Err(_)) => {}
        }
    }
    // Never the ETag of a different document.
    let zero = etag(b"0").unwrap();
    let huge = std::panic::catch_unwind(|| etag(b"1e9223372036854775807"));
    assert!(!matches!(huge, Ok(Ok(ref e)) if *e == zero), "1e9223372036854775807 has the ETag of 0");
}

/// F3: a zero mantissa skips the range check in `numeric_text`, and the integer part is built
/// by appending `point - len` zeros before trimming them back to `0`: `0e99999999999`
/// (13 bytes) asks for a ~100 GB `String` and aborts the process (allocation failure / OOM).
/// Any `etag` of a document holding such a number does this: the `etag` operation, the config
/// and rules versions computed by `load_snapshot` (`{"weights":{"pop":0e99999999999}}` is a
/// valid config, 0.0 as a float). PostgreSQL answers `0` (or "value overflows numeric format"
/// for exponents >= 2^30), without allocating.
///
/// Runs the input in a child process under `ulimit -v 2000000` (2 GB), so the abort cannot take
/// the test runner down.
#[test]
fn f3_zero_with_huge_exponent_is_cheap() {
    const INPUT: &str = "0e99999999999";
    if std::env::var_os("RECSYS_F3_CHILD").is_some() {
        println!("RESULT {:?}", canonical_text(INPUT.as_bytes()));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 2000000; exec "$0" f3_zero_with_huge_exponent_is_cheap --exact --nocapture"#)
        .arg(exe)
        .env("RECSYS_F3_CHILD", "1")
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "canonical_text({INPUT}) killed the process ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).lines().take(3).collect::<Vec<_>>().join(" | ")
    );
    assert!(
        stdout.contains(r#"RESULT Ok("0")"#) || stdout.contains("RESULT Err("),
        "unexpected answer: {stdout}"
    );
}
