//! The fast path of [`super::format_go_float`] for the floats answers write most: scores,
//! finite and in [2^-9, 1) in magnitude. It writes exactly the bytes of the general path
//! (`ryu`'s shortest round-trip digits in Go's layout): the shortest decimal inside the
//! float's rounding interval, the one closest to the float among those, an exact tie to the
//! even digit. In this range the value, the interval's ends and every decimal of up to 17
//! significant digits are integers once scaled by 10^s (s ≤ 19), so one widening multiply
//! and shifts find them exactly, with no tables of powers of five and no 128-bit divisions
//! (~100 instructions a score against ~300 through `ryu`). Anything else (zero, integral,
//! below 2^-9 or at least 1, powers of two, whose interval is lopsided) is left to the
//! general path.

/// Per binary exponent `e` (the float is `m × 2^e`, `m` in [2^52, 2^53)), from -53 down to
/// -61: the `s` such that every decimal of up to 17 significant digits in the binade
/// `[2^(e+52), 2^(e+53))` is an integer multiple of 10^-s: 17 plus the most zeros a value
/// of the binade has after the point (`floor(-(e + 52) × log10 2)`).
const SCALE: [u32; 9] = [17, 17, 17, 18, 18, 18, 19, 19, 19];

/// 10^0 to 10^19.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Appends `f` when |f| is in [2^-9, 1) and not a power of two, and says whether it did.
#[inline]
pub(super) fn write(out: &mut String, f: f64) -> bool {
    let bits = f.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // Biased exponents 1014..=1022 are the binades [2^-9, 2^-8) ... [0.5, 1).
    if !(1014..=1022).contains(&exp_bits) || frac == 0 {
        return false;
    }
    let e = exp_bits - 1075;
    let m = frac | (1u64 << 52);
    let s = SCALE[(-53 - e) as usize];
    let p = POW10[s as usize];
    // The float is 2m × 2^(e-1), its neighbours' midpoints (2m ± 1) × 2^(e-1): scaled by
    // 10^s, each is its numerator over 2^sh. 2m × 10^s < 2^54 × 10^19 fits 128 bits.
    let sh = (1 - e) as u32;
    let v = u128::from(2 * m) * u128::from(p);
    let (lo_n, hi_n) = (v - u128::from(p), v + u128::from(p));
    // (2m ± 1) × 10^s has exactly s ≤ 19 factors of two and sh ≥ 54, so neither end of the
    // interval is a decimal of ≤ s places: whether the ends count (they do when m is even)
    // never matters here, and the decimals inside are the integers in [lo, hi].
    let hi = (hi_n >> sh) as u64;
    let lo = (lo_n >> sh) as u64 + 1;
    let vr = (v >> sh) as u64;
    let rem = v & ((1u128 << sh) - 1);
    // Drop digits while the interval still holds a multiple of ten: [b, a] are the
    // candidates at 10^k, r the value truncated to 10^k, `last` the digit last dropped and
    // `below` whether everything under it (digits and the binary remainder) was zero.
    let (mut a, mut b, mut r, mut k) = (hi, lo, vr, 0u32);
    let (mut last, mut below) = (0u64, rem == 0);
    while a / 10 >= b.div_ceil(10) {
        a /= 10;
        b = b.div_ceil(10);
        below &= last == 0;
        last = r % 10;
        r /= 10;
        k += 1;
    }
    // Round the value to the nearest candidate, a tie to the even one.
    let up = if k == 0 {
        let half = 1u128 << (sh - 1);
        rem > half || (rem == half && r & 1 == 1)
    } else {
        last > 5 || (last == 5 && (!below || r & 1 == 1))
    };
    // The interval is symmetric, so the nearest candidate is always inside; the clamp is a
    // guard, not a branch taken.
    let c = (r + u64::from(up)).clamp(b, a);
    push(out, bits >> 63 != 0, c, s - k);
    true
}

/// The text of one score, its first byte on an 8-byte boundary: `str::from_utf8` checks an
/// aligned slice 16 bytes a step and an unaligned one mostly byte by byte (~180
/// instructions for a score, more than finding its digits).
#[repr(align(8))]
struct Text([u8; 24]);

/// Appends `[-]0.<c with leading zeros to `places` digits>`, the value `c × 10^-places`
/// (`c < 10^places`, `places ≤ 19`): `c` is written zero-padded to 24 digits, eight at a
/// time, and the last `places` of them are the fraction.
fn push(out: &mut String, neg: bool, c: u64, places: u32) {
    let mut digits = [0u8; 24];
    let (hi, lo) = (c / 100_000_000, c % 100_000_000);
    digits[0..8].copy_from_slice(&eight_digits((hi / 100_000_000) as u32));
    digits[8..16].copy_from_slice(&eight_digits((hi % 100_000_000) as u32));
    digits[16..24].copy_from_slice(&eight_digits(lo as u32));
    let mut t = Text([0; 24]);
    let head = if neg {
        t.0[..3].copy_from_slice(b"-0.");
        3
    } else {
        t.0[..2].copy_from_slice(b"0.");
        2
    };
    let places = places as usize;
    t.0[head..head + places].copy_from_slice(&digits[24 - places..]);
    // Only ASCII was written.
    out.push_str(std::str::from_utf8(&t.0[..head + places]).unwrap_or("0"));
}

/// The eight decimal digits of `n < 10^8`, zero-padded, most significant first: split into
/// two lanes of four digits, four of two, eight of one, with multiply-shift divisions
/// exact in their ranges (`x × 10486 >> 20` is `x / 100` below 43,699; `x × 103 >> 10` is
/// `x / 10` below 100), all lanes in one 64-bit word.
fn eight_digits(n: u32) -> [u8; 8] {
    let n = u64::from(n);
    let x = (n / 10_000) | ((n % 10_000) << 32);
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let y = hundreds | ((x - hundreds * 100) << 16);
    let tens = ((y * 103) >> 10) & 0x000f_000f_000f_000f;
    let z = tens | ((y - tens * 10) << 8);
    (z | 0x3030_3030_3030_3030).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::float::tests::splitmix;
    use super::write;

    /// What the general path writes (`ryu`'s text, which in this range is Go's).
    fn general(f: f64) -> String {
        let mut gen = ryu::Buffer::new();
        gen.format_finite(f).to_owned()
    }

    fn check(f: f64, fast: &mut String, taken: &mut usize) {
        fast.clear();
        if write(fast, f) {
            *taken += 1;
            assert_eq!(*fast, general(f), "bits {:#018x}", f.to_bits());
        } else {
            assert!(
                !(f.abs() >= 2f64.powi(-9) && f.abs() < 1.0) || f.abs().to_bits() << 12 == 0,
                "{f:e} is in the fast path's range"
            );
            assert!(fast.is_empty());
        }
    }

    #[test]
    fn eight_digits_are_the_zero_padded_decimal() {
        let mut state = 0x8d;
        let all = (0..100_000u32)
            .chain((0..200_000).map(|_| (splitmix(&mut state) % 100_000_000) as u32));
        for n in all.chain([99_999_999, 10_000_000, 9_999_999, 43_699, 10_000]) {
            assert_eq!(super::eight_digits(n), *format!("{n:08}").as_bytes(), "{n}");
        }
    }

    /// The scale table is the one its doc defines: every 17-digit decimal of the binade is
    /// an integer multiple of 10^-s, and 10^s fits 64 bits.
    #[test]
    fn scale_table_is_the_decimal_depth_of_each_binade() {
        for (i, &s) in super::SCALE.iter().enumerate() {
            let e = -53 - i as i32;
            let low = 2f64.powi(e + 52);
            // Leading zeros after the point of the binade's smallest value.
            let zeros = (-low.log10()).floor() as u32;
            assert_eq!(s, 17 + zeros, "e = {e}");
            assert!(10u64.checked_pow(s).is_some());
        }
    }

    /// Random values over the whole range, each binade equally, and their neighbours.
    #[test]
    fn writes_what_ryu_writes_in_and_around_the_unit_interval() {
        let (mut fast, mut taken) = (String::new(), 0);
        let mut state = 0x0a11_5c0e;
        let n = if cfg!(debug_assertions) {
            300_000
        } else {
            2_000_000
        };
        for _ in 0..n {
            let x = splitmix(&mut state);
            // Exponent bits 1010..=1024: the range, two binades on either side, and 1-2.
            let exp = 1010 + (x >> 60) % 15;
            let bits = (exp << 52) | (x & ((1u64 << 52) - 1));
            let f = f64::from_bits(bits);
            for g in [f, -f, f.next_up(), f.next_down()] {
                check(g, &mut fast, &mut taken);
            }
        }
        assert!(taken > n * 2, "only {taken} values took the fast path");
    }

    /// Scores as the pipeline makes them: uniform draws, ratios of counts, 1 - tiny.
    #[test]
    fn writes_what_ryu_writes_on_score_like_values() {
        let (mut fast, mut taken) = (String::new(), 0);
        let mut state = 0x5c02e;
        for _ in 0..200_000 {
            let u = (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            let n = splitmix(&mut state) % 1_000_000 + 1;
            let d = n + splitmix(&mut state) % 1_000_000;
            for f in [u, 1.0 - u * 1e-6, n as f64 / d as f64, u * 0.01, 1.0 - u] {
                check(f, &mut fast, &mut taken);
            }
        }
        assert!(taken > 500_000, "{taken}");
    }

    /// Short decimals (whose shortest digits drop many places), exact binary fractions
    /// (exact ties and exact values), the binades' ends, powers of two and of ten.
    #[test]
    fn writes_what_ryu_writes_on_short_and_exact_values() {
        let (mut fast, mut taken) = (String::new(), 0);
        let mut values = Vec::new();
        for digits in 1..=17u32 {
            let scale = 10u64.pow(digits);
            for j in 0..2_000u64 {
                let n = (j * 7_919 + 1) % scale;
                let f = n as f64 / scale as f64;
                values.extend([f, f.next_up(), f.next_down()]);
            }
        }
        for k in 1..=64 {
            for j in 0..500u64 {
                let f = ((j * 2_654_435_761) % (1 << k.min(52))) as f64 * 2f64.powi(-k);
                values.extend([f, f + 2f64.powi(-9), 1.0 - f * 0.5]);
            }
        }
        for e in -12..=1 {
            let p = 2f64.powi(e);
            values.extend([p, p.next_up(), p.next_down(), p * 1.5, p * 0.75]);
        }
        for e in -4..=0 {
            let p = 10f64.powi(e);
            values.extend([p, p.next_up(), p.next_down()]);
        }
        values.extend([
            0.0,
            -0.0,
            5e-324,
            f64::MIN_POSITIVE,
            0.1,
            0.2,
            0.3,
            0.7,
            0.9,
        ]);
        values.extend([1.0 - f64::EPSILON / 2.0, 0.5 + f64::EPSILON / 4.0]);
        for f in values {
            check(f, &mut fast, &mut taken);
            check(-f, &mut fast, &mut taken);
        }
        assert!(taken > 100_000, "{taken}");
    }
}
