//! Floats as Go's `encoding/json` writes a `float64`: the shortest digits that read back to
//! the same value, laid out as plain decimal unless |f| < 1e-6 or |f| >= 1e21, then in
//! exponent form (`1e-7`, `1.25e+22`). The digits come from the `ryu` shortest round-trip
//! generator: the closest of the shortest, and on an exact tie between two of them the even
//! one, as Go rounds (`1.00000762939453125` is `1.0000076293945312`; std's formatter, used
//! before, wrote `...313`, so an artifact holding such a score hashed differently from what
//! the pipeline published). `zmij`, tried first, picks differently on some 17-digit values.
//! The layout is ours, so the generator's own layout does not matter.

/// The shortest round-trip digits of a finite, non-zero `|f|`, without leading or trailing
/// zeros, and the decimal point's position: the value is `0.d1d2...dn × 10^point`.
struct Digits {
    buf: [u8; 20],
    len: usize,
    point: i32,
}

impl Digits {
    fn of(abs: f64) -> Digits {
        let mut gen = ryu::Buffer::new();
        let text = gen.format_finite(abs).as_bytes();
        let mut d = Digits {
            buf: [0; 20],
            len: 0,
            point: 0,
        };
        let mut seen_point = false;
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                c @ b'0'..=b'9' => {
                    if d.len == 0 && c == b'0' {
                        // A leading zero: moves the point left when after it.
                        d.point -= i32::from(seen_point);
                    } else if d.len < d.buf.len() {
                        d.buf[d.len] = c;
                        d.len += 1;
                        d.point += i32::from(!seen_point);
                    }
                }
                b'.' => seen_point = true,
                b'e' | b'E' => {
                    d.point += exponent(&text[i + 1..]);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        while d.len > 1 && d.buf[d.len - 1] == b'0' {
            d.len -= 1;
        }
        d
    }

    fn digits(&self) -> &str {
        // Only ASCII digits were stored.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

/// The exponent after an `e`: an optional sign, then digits.
fn exponent(text: &[u8]) -> i32 {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let n = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i32, |n, c| n * 10 + i32::from(c - b'0'));
    if neg {
        -n
    } else {
        n
    }
}

fn push_zeros(out: &mut String, n: i32) {
    for _ in 0..n {
        out.push('0');
    }
}

/// ryu writes |f| in [1e-5, 1e16) as plain decimal, as Go does, except that an integral
/// value keeps a `.0` (`1200.0`).
fn plain_go_text(text: &str) -> &str {
    text.strip_suffix(".0").unwrap_or(text)
}

/// Appends `f` the way Go's `encoding/json` renders a `float64`: shortest round-trip digits,
/// plain decimal unless |f| < 1e-6 or |f| >= 1e21, then `1e-7` / `1e+21` exponent form.
/// Zero is `0` (`-0` when negative). The caller guarantees `f` is finite.
#[inline]
pub fn format_go_float(out: &mut String, f: f64) {
    if (1e-5..1e16).contains(&f.abs()) {
        // The common case (every score): ryu's own text is already Go's. Inline, with the
        // rare layouts out of line, it saves the registers only they need (~25 instructions
        // a score).
        let mut gen = ryu::Buffer::new();
        out.push_str(plain_go_text(gen.format_finite(f)));
    } else {
        format_go_float_laid_out(out, f);
    }
}

/// [`format_go_float`] for |f| outside [1e-5, 1e16): the digits re-laid out as Go lays
/// them out (zero, `0.000001`, exponent form, integral values with trailing zeros).
#[inline(never)]
fn format_go_float_laid_out(out: &mut String, f: f64) {
    let abs = f.abs();
    let d = Digits::of(abs);
    if f.is_sign_negative() {
        out.push('-');
    }
    if abs == 0.0 {
        out.push('0');
        return;
    }
    let digits = d.digits();
    if !(1e-6..1e21).contains(&abs) {
        let exp = d.point - 1;
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(if exp < 0 { "e-" } else { "e+" });
        if (0..10).contains(&exp) {
            out.push('0');
        }
        super::write::write_u64(out, u64::from(exp.unsigned_abs()));
    } else if d.point <= 0 {
        out.push_str("0.");
        push_zeros(out, -d.point);
        out.push_str(digits);
    } else if (d.point as usize) < digits.len() {
        let (int, frac) = digits.split_at(d.point as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str(digits);
        push_zeros(out, d.point - digits.len() as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::{format_go_float, Digits};

    /// The formatter this module replaced (std's shortest digits, re-laid out): the oracle
    /// the fast path is held to, except on exact ties (see [`is_exact_tie`]).
    fn format_std(out: &mut String, f: f64) {
        use std::fmt::Write as _;
        let abs = f.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let s = format!("{f:e}");
            let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
            out.push_str(mant);
            out.push('e');
            if let Some(neg) = exp.strip_prefix('-') {
                out.push('-');
                out.push_str(neg);
            } else {
                out.push('+');
                if exp.len() < 2 {
                    out.push('0');
                }
                out.push_str(exp);
            }
        } else {
            let _ = write!(out, "{f}");
        }
    }

    /// Whether `abs × 10^s` ends in exactly `.5`: the value lies exactly halfway between the
    /// two shortest candidates, where std rounds half up and Go and `ryu` half to even
    /// (`1500000000000000.25`: std `.3`, Go `.2`). With `abs = m' × 2^q` (`m'` odd), `abs × 2 × 10^s` is
    /// `m' × 5^s × 2^(q+1+s)`: an odd integer exactly when `q + 1 + s == 0` and, for a negative
    /// `s`, `5^-s` divides `m'`.
    fn is_exact_tie(abs: f64, s: i32) -> bool {
        let bits = abs.to_bits();
        let (exp_bits, frac) = ((bits >> 52) as i32, bits & ((1u64 << 52) - 1));
        let (m, e) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        let zeros = m.trailing_zeros() as i32;
        if e + zeros + 1 + s != 0 {
            return false;
        }
        // m' < 2^53 < 5^23: a larger power of five cannot divide it.
        s >= 0 || (-s <= 22 && (m >> zeros).is_multiple_of(5u64.pow(s.unsigned_abs())))
    }

    /// Whether `f`'s shortest digits are an exact tie.
    fn tie(f: f64) -> bool {
        let d = Digits::of(f.abs());
        f != 0.0 && is_exact_tie(f.abs(), d.len as i32 - d.point)
    }

    /// The text of `f` equals std's, except on an exact tie: there it reads back to `f`, has
    /// std's length, and its last digit is the even one of the two candidates (Go's rounding).
    fn check(f: f64, new: &mut String, old: &mut String) {
        if !f.is_finite() {
            return;
        }
        new.clear();
        old.clear();
        format_go_float(new, f);
        format_std(old, f);
        if !tie(f) {
            assert_eq!(new, old, "bits {:#018x}", f.to_bits());
            return;
        }
        assert_eq!(new.parse::<f64>().ok(), Some(f), "{new} reads back");
        let mant = |s: &str| s.split('e').next().unwrap_or(s).as_bytes().to_vec();
        let (m_new, m_old) = (mant(new), mant(old));
        assert_eq!(m_new.len(), m_old.len(), "{new} vs {old}: same length");
        let (d_new, d_old) = (m_new[m_new.len() - 1], m_old[m_old.len() - 1]);
        assert_eq!((d_new - b'0') % 2, 0, "{new}: the even candidate");
        if new != old {
            // Half up gave the odd digit above: only the last digit differs.
            assert_eq!(
                m_new[..m_new.len() - 1],
                m_old[..m_old.len() - 1],
                "{new} vs {old}"
            );
            assert_eq!(d_new + 1, d_old, "{new} vs {old}: std rounds the tie up");
        }
    }

    /// A small deterministic generator (splitmix64), so a failure names a reproducible case.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn matches_the_old_formatter_on_random_bit_patterns() {
        let (mut new, mut old) = (String::new(), String::new());
        let mut state = 0x5eed;
        let n = if cfg!(debug_assertions) {
            300_000
        } else {
            3_000_000
        };
        for _ in 0..n {
            let bits = splitmix(&mut state);
            check(f64::from_bits(bits), &mut new, &mut old);
        }
    }

    #[test]
    fn matches_the_old_formatter_on_scores_and_edges() {
        let (mut new, mut old) = (String::new(), String::new());
        let mut state = 0xfeed;
        // Scores live in [0, 1] and around small multiples of it.
        for _ in 0..300_000 {
            let u = (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            for f in [u, -u, u * 3.0, u * 1e-6, u * 1e21, 1.0 - u * 1e-9] {
                check(f, &mut new, &mut old);
            }
        }
        // Powers of ten, their neighbours, the layout boundaries, subnormals, extremes.
        let mut edges = vec![
            0.0,
            -0.0,
            1e-6,
            1e21,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            5e-324,
            f64::from_bits(0x000f_ffff_ffff_ffff), // the largest subnormal
            9_007_199_254_740_993.0,
        ];
        for e in -325..=308 {
            let p: f64 = format!("1e{e}").parse().unwrap();
            edges.extend([p, p * 1.5, p * 9.999999999999999]);
        }
        for bits in 1..2000u64 {
            edges.push(f64::from_bits(bits));
            edges.push(f64::from_bits(0x000f_ffff_ffff_ffff - bits));
        }
        for f in edges {
            for g in [f, f.next_up(), f.next_down(), -f] {
                check(g, &mut new, &mut old);
            }
        }
    }

    #[test]
    fn exact_ties_round_half_to_even_as_go_does() {
        let (mut new, mut old) = (String::new(), String::new());
        let mut ties = 0;
        let mut state = 0x71e5;
        // Integers scaled by small powers of two have short exact decimals: many are exact
        // ties at their shortest length, where ryu alone would round half to even.
        for _ in 0..200_000 {
            let m = splitmix(&mut state) >> (11 + splitmix(&mut state) % 40);
            let k = (splitmix(&mut state) % 70) as i32;
            let f = m as f64 * 2f64.powi(-k);
            ties += usize::from(tie(f));
            check(f, &mut new, &mut old);
            check(-f, &mut new, &mut old);
        }
        assert!(ties > 1000, "only {ties} ties exercised");
        for (f, want) in [
            // 1500000000000000.25, exactly halfway between .2 and .3
            (f64::from_bits(0x4315_50f7_dca7_0001), "1500000000000000.2"),
            (1.0 + 2f64.powi(-17), "1.0000076293945312"),
            (-(1.0 + 2f64.powi(-17)), "-1.0000076293945312"),
        ] {
            new.clear();
            format_go_float(&mut new, f);
            assert_eq!(new, want);
        }
    }

    #[test]
    fn go_layout_vectors() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1e-6, "0.000001"),
            (1e-6f64.next_down(), "9.999999999999997e-7"),
            (1e21, "1e+21"),
            (999999999999999900000.0, "999999999999999900000"),
            (1.5e300, "1.5e+300"),
            (-2.5e-8, "-2.5e-8"),
            (0.1, "0.1"),
            (100.0, "100"),
        ];
        for (f, want) in cases {
            let mut s = String::new();
            format_go_float(&mut s, f);
            assert_eq!(s, want, "{f:e}");
        }
    }
}
