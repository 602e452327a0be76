//! Timestamps without a clock: parsing and formatting RFC 3339 instants as Unix time.
//! The core never reads the system clock; every `now` comes from the host.

use std::fmt::Write as _;

/// An instant as Unix seconds plus nanoseconds (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

impl Timestamp {
    /// The instant `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }
    /// Unix milliseconds.
    pub fn as_millis(self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add((self.nanos / 1_000_000) as i64)
    }
    /// The instant `ms` milliseconds after the Unix epoch.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp {
            secs: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) as u32) * 1_000_000,
        }
    }
    /// Seconds from `earlier` to `self` (may be negative), as a float.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.secs - earlier.secs) as f64 + (self.nanos as f64 - earlier.nanos as f64) / 1e9
    }
    /// This instant moved by `s` seconds (saturating).
    pub fn add_secs(self, s: i64) -> Timestamp {
        Timestamp {
            secs: self.secs.saturating_add(s),
            nanos: self.nanos,
        }
    }

    /// Parses RFC 3339 (`2026-01-02T03:04:05Z`, fractional seconds and numeric offsets
    /// accepted; `t`/`z` and a space separator accepted as RFC 3339 allows).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let (y, mo, d) = parse_date(&b[..10])?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let hh = two(&b[11..13])?;
        let mm = two(&b[14..16])?;
        let ss = two(&b[17..19])?;
        if b[13] != b':' || b[16] != b':' || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + (b[i] - b'0') as u32;
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return None;
            }
            for _ in n..9 {
                nanos *= 10;
            }
        }
        let offset_secs: i64 = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = two(&b[i + 1..i + 3])? as i64;
                let om = two(&b[i + 4..i + 6])? as i64;
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        let ss = ss.min(59); // leap second folds into :59
        let secs =
            days_from_civil(y, mo, d) * 86400 + hh as i64 * 3600 + mm as i64 * 60 + ss as i64
                - offset_secs;
        Some(Timestamp { secs, nanos })
    }

    /// Parses `YYYY-MM-DD` as UTC midnight.
    pub fn parse_date(s: &str) -> Option<Timestamp> {
        if s.len() != 10 {
            return None;
        }
        let (y, m, d) = parse_date(s.as_bytes())?;
        Some(Timestamp::from_secs(days_from_civil(y, m, d) * 86400))
    }

    /// `2026-01-02T03:04:05Z` (second precision, UTC).
    pub fn to_rfc3339(self) -> String {
        let mut s = String::with_capacity(20);
        self.write_rfc3339(&mut s, false);
        s
    }

    /// RFC 3339 with nanoseconds when non-zero (`2026-01-02T03:04:05.123Z`, trailing zeros trimmed).
    pub fn to_rfc3339_nanos(self) -> String {
        let mut s = String::with_capacity(30);
        self.write_rfc3339(&mut s, true);
        s
    }

    fn write_rfc3339(self, s: &mut String, nanos: bool) {
        let days = self.secs.div_euclid(86400);
        let rem = self.secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        let _ = write!(
            s,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        );
        if nanos && self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push('Z');
    }
}

fn two(b: &[u8]) -> Option<u32> {
    if b.len() == 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit() {
        Some(((b[0] - b'0') * 10 + (b[1] - b'0')) as u32)
    } else {
        None
    }
}

fn parse_date(b: &[u8]) -> Option<(i64, u32, u32)> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let y = b[..4].iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64);
    let m = two(&b[5..7])?;
    let d = two(&b[8..10])?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = Timestamp::parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(t.secs, 1767323045);
        assert_eq!(t.to_rfc3339(), "2026-01-02T03:04:05Z");
        let t2 = Timestamp::parse_rfc3339("2026-01-02T05:04:05.5+02:00").unwrap();
        assert_eq!(t2.secs, t.secs);
        assert_eq!(t2.nanos, 500_000_000);
        assert_eq!(t2.to_rfc3339_nanos(), "2026-01-02T03:04:05.5Z");
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T00:00:00Z")
                .unwrap()
                .secs,
            0
        );
        assert_eq!(
            Timestamp::parse_date("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00Z"
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00+0200",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_none(), "{s}");
        }
    }

    #[test]
    fn civil_roundtrip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
