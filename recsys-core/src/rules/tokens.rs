//! The answer's rule tokens: `rule.boost:+0.50[<id>]` for a boost that reached an item and
//! `rule.pin[<id>]` for a pin, as reasons and `explain.rules` list them.
//!
//! A reasons answer formats one token per boost of each returned item (at catalog scale,
//! ~170 per request with 10,000 rules), so the tokens are written byte by byte: the delta's
//! two decimals by exact integer rounding of the float's bits (what `{:.2}` prints, ties to
//! even), the id from its bytes, with no formatter between.

use super::Rule;

/// `rule.boost:+0.50[<id>]`: signed, two decimals (as `format!("{:.2}")` of its magnitude).
pub fn boost_token(rule: &Rule, delta: f64) -> String {
    let sign = if delta >= 0.0 { b'+' } else { b'-' };
    let Some(n) = hundredths(delta.abs()) else {
        // NaN and huge magnitudes (no boost the engine applies gives these: its deltas are
        // saturated into the finite range) go through the formatter.
        let sign = sign as char;
        return format!("rule.boost:{sign}{:.2}[{}]", delta.abs(), rule.id);
    };
    // 11 + a sign + at most 18 digits and a point + a 36-character id in brackets.
    let mut buf = [0u8; 72];
    buf[..11].copy_from_slice(b"rule.boost:");
    buf[11] = sign;
    let at = 12 + write_hundredths(&mut buf[12..32], n);
    let end = write_id(&mut buf[at..], rule) + at;
    ascii(&buf[..end])
}

/// `rule.pin[<id>]`.
pub fn pin_token(rule: &Rule) -> String {
    let mut buf = [0u8; 46];
    buf[..8].copy_from_slice(b"rule.pin");
    write_id(&mut buf[8..], rule);
    ascii(&buf)
}

/// The token's text (all of it ASCII, as written above).
fn ascii(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).unwrap_or_default().to_owned()
}

/// Writes `[<id>]` (the rule id, lower-case hyphenated, in brackets) at the start of `out`
/// (38 bytes at least); returns its length.
fn write_id(out: &mut [u8], rule: &Rule) -> usize {
    out[0] = b'[';
    out[1..37].copy_from_slice(&rule.id.hyphenated());
    out[37] = b']';
    38
}

/// Magnitudes at or past this (and NaN) are written by the formatter: the exact path below
/// keeps `x · 100` in a `u64`, under 10^17 (at most 18 digits with the point).
const EXACT_BELOW: f64 = 1e15;

/// Writes `n` hundredths as `<whole>.<two digits>` at the start of `out` (20 bytes at
/// least); returns its length.
fn write_hundredths(out: &mut [u8], n: u64) -> usize {
    // The digits of `n`, lowest first, at least three (5 hundredths is `0.05`).
    let mut digits = [0u8; 20];
    let (mut len, mut rest) = (0, n);
    while len < 3 || rest > 0 {
        digits[len] = b'0' + (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    for (o, &d) in out.iter_mut().zip(digits[2..len].iter().rev()) {
        *o = d;
    }
    out[len - 2] = b'.';
    out[len - 1] = digits[1];
    out[len] = digits[0];
    len + 1
}

/// `x · 100` rounded to the nearest integer, ties to even, computed exactly from the bits of
/// `x` (`m · 2^e`): what `{:.2}` prints, without the formatter. `None` for NaN, values with
/// the sign bit set (-0.0 included) and magnitudes from [`EXACT_BELOW`] on.
fn hundredths(x: f64) -> Option<u64> {
    // The sign bit too: -0.0 is written `-0.00`.
    if !(0.0..EXACT_BELOW).contains(&x) || x.is_sign_negative() {
        return None;
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // Subnormals (and zero) have no hidden bit and the smallest exponent.
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    // Below 1e15, m · 100 < 2^60 and, when e ≥ 0, m · 100 · 2^e < 1e17.
    let q = m as u128 * 100;
    if e >= 0 {
        return Some((q << e) as u64);
    }
    let shift = -e as u32;
    // q < 2^60: past 61 bits of shift, x · 100 < 1/2 and rounds to 0.
    if shift > 100 {
        return Some(0);
    }
    let whole = q >> shift;
    let rest = q - (whole << shift);
    let half = 1u128 << (shift - 1);
    let up = rest > half || (rest == half && whole & 1 == 1);
    Some(whole as u64 + up as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Action, TargetType, Uuid};
    use crate::tests::rng::Rng;

    /// The two decimals as the formatter writes them.
    fn reference(x: f64) -> String {
        format!("{x:.2}")
    }

    /// The two decimals as the tokens write them: the exact path, else the formatter.
    fn written(x: f64) -> String {
        match hundredths(x) {
            Some(n) => {
                let mut buf = [0u8; 20];
                let len = write_hundredths(&mut buf, n);
                String::from_utf8(buf[..len].to_vec()).unwrap()
            }
            None => reference(x),
        }
    }

    #[test]
    fn hundredths_equal_the_formatter_on_edges_and_ties() {
        let mut xs: Vec<f64> = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            0.005,
            0.015,
            0.025,
            0.125,
            0.375,
            0.995,
            0.999,
            1.005,
            2.675,
            9.995,
            99.995,
            1e14,
            999_999_999_999_999.9,
            1e15,
            1e15 + 0.5,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        // Exact ties at two decimals: k/8 and k/4 (binary fractions) and their neighbours.
        for k in 0..4000u32 {
            let t = k as f64 / 8.0 + 0.005 * (k % 3) as f64;
            xs.extend([t, t.next_up(), t.next_down().max(0.0)]);
        }
        // Every hundredth and half-hundredth up to 100, with their neighbours.
        for k in 0..20_000u32 {
            let t = k as f64 / 200.0;
            xs.extend([t, t.next_up(), t.next_down().max(0.0)]);
        }
        for x in xs {
            assert_eq!(written(x), reference(x), "{x:e}");
        }
    }

    #[test]
    fn hundredths_equal_the_formatter_on_random_values() {
        let mut rng = Rng::new(0x7068);
        for i in 0..300_000u32 {
            let x = match i % 3 {
                // Any bit pattern (NaNs, infinities, subnormals, every exponent).
                0 => f64::from_bits(rng.next_u64()).abs(),
                // Boost-like deltas: up to a few hundred, two decimals and noise.
                1 => {
                    rng.below(100_000) as f64 / 200.0
                        * (1.0 + (rng.below(1000) as f64 - 500.0) * 1e-15)
                }
                // Every binary scale around the exact path's bound and below one.
                _ => {
                    let e = rng.below(140) as i32 - 90;
                    (1.0 + rng.below(1 << 52) as f64 / (1u64 << 52) as f64) * 2f64.powi(e)
                }
            };
            assert_eq!(written(x), reference(x), "{x:e} ({:#x})", x.to_bits());
            // Every magnitude a boost gives takes the exact path, not the formatter.
            let exact = x.is_finite() && x.is_sign_positive() && x < EXACT_BELOW;
            assert_eq!(hundredths(x).is_some(), exact, "{x:e}");
        }
    }

    #[test]
    fn tokens_equal_their_formatted_definitions() {
        let mut rng = Rng::new(0x746f6b);
        for _ in 0..2_000 {
            let mut id = [0u8; 16];
            for b in &mut id {
                *b = rng.below(256) as u8;
            }
            let mut rule = Rule::new(Action::Boost, TargetType::Tag, "t", Vec::new());
            rule.id = Uuid(id);
            let delta = match rng.below(4) {
                0 => f64::from_bits(rng.next_u64()),
                1 => -(rng.below(10_000) as f64) / 100.0,
                2 => 0.0,
                _ => rng.below(1_000_000) as f64 / 997.0,
            };
            let sign = if delta >= 0.0 { '+' } else { '-' };
            let want = format!("rule.boost:{sign}{:.2}[{}]", delta.abs(), rule.id);
            assert_eq!(boost_token(&rule, delta), want);
            assert_eq!(pin_token(&rule), format!("rule.pin[{}]", rule.id));
        }
    }
}
