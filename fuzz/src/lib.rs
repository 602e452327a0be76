//! Helpers shared by the fuzz targets and the regression tests.
//!
//! There are no filters for known issues: every finding so far is fixed (see
//! `regressions/README.md`). `RECSYS_FUZZ_STRICT=1` is kept for a future filter.

use std::sync::OnceLock;

/// `RECSYS_FUZZ_STRICT=1`: known open issues are failures again.
pub fn strict() -> bool {
    static S: OnceLock<bool> = OnceLock::new();
    *S.get_or_init(|| std::env::var("RECSYS_FUZZ_STRICT").is_ok_and(|v| v == "1"))
}

/// 64 lower-case hex digits (an ETag or artifact version).
pub fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex64() {
        assert!(is_lower_hex64(&"a0".repeat(32)));
        assert!(!is_lower_hex64(&"A0".repeat(32)));
        assert!(!is_lower_hex64("ab"));
    }
}
