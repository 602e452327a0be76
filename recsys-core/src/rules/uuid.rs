//! A minimal UUID: parsing in the spellings the reference accepts, lower-case hyphenated
//! display, and name-based version 5 derivation (SHA-1), which is all rule ids need.

use sha1::{Digest, Sha1};
use std::fmt;
use std::str::FromStr;

/// A UUID as its 16 bytes. Displays as lower-case hyphenated text
/// (`6ba7b812-9dad-11d1-80b4-00c04fd430c8`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// Rule identifiers are UUIDs: given in the document or derived with [`Uuid::new_v5`].
pub type RuleId = Uuid;

/// The RFC 4122 namespace for ISO object identifiers, used to turn a tenant string that is not
/// itself a UUID into the org UUID.
pub const NAMESPACE_OID: Uuid = Uuid([
    0x6b, 0xa7, 0xb8, 0x12, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
]);

impl Uuid {
    #[cfg(any(test, feature = "bench-internals"))]
    /// The all-zero UUID.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Parses the forms the reference accepts: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, the same
    /// in braces, with a `urn:uuid:` prefix, or as 32 bare hex digits. Hex is case-insensitive;
    /// surrounding whitespace is not accepted.
    pub fn parse(s: &str) -> Option<Uuid> {
        let b = s.as_bytes();
        let body: &[u8] = match b.len() {
            32 => return hex_bytes(b, &BARE_DIGITS),
            36 => b,
            38 if b[0] == b'{' && b[37] == b'}' => &b[1..37],
            45 if b[..9].eq_ignore_ascii_case(b"urn:uuid:") => &b[9..],
            _ => return None,
        };
        if body[8] != b'-' || body[13] != b'-' || body[18] != b'-' || body[23] != b'-' {
            return None;
        }
        hex_bytes(body, &HYPHENATED_DIGITS)
    }

    /// True for the all-zero UUID.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// The version nibble (5 for derived ids).
    pub fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// A name-based UUID, version 5 (RFC 4122 §4.3): SHA-1 over the namespace bytes followed
    /// by the name, truncated to 16 bytes, with the version and variant bits set.
    pub fn new_v5(namespace: &Uuid, name: &[u8]) -> Uuid {
        let mut h = Sha1::new();
        h.update(namespace.0);
        h.update(name);
        let digest = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        b[6] = (b[6] & 0x0f) | 0x50;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid(b)
    }

    /// The org UUID for a tenant string: the string itself when it parses as a UUID, otherwise
    /// the version 5 UUID of the string in the OID namespace (`demo` ⇒
    /// `32a83486-1530-507c-add7-d97f4316b28b`).
    pub fn for_tenant(tenant: &str) -> Uuid {
        Uuid::parse(tenant).unwrap_or_else(|| Uuid::new_v5(&NAMESPACE_OID, tenant.as_bytes()))
    }
}

/// Where the 32 hex digits of a bare UUID are.
const BARE_DIGITS: [u8; 32] = {
    let mut at = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        at[i] = i as u8;
        i += 1;
    }
    at
};

/// Where the 32 hex digits of a hyphenated UUID are (hyphens at 8, 13, 18 and 23).
const HYPHENATED_DIGITS: [u8; 32] = {
    let mut at = [0u8; 32];
    let (mut i, mut pos) = (0, 0u8);
    while i < 32 {
        if matches!(pos, 8 | 13 | 18 | 23) {
            pos += 1;
        }
        at[i] = pos;
        i += 1;
        pos += 1;
    }
    at
};

/// The value of each byte as a hex digit (either case); 0xff for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut c = 0;
    while c < 10 {
        t[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut c = 0;
    while c < 6 {
        t[b'a' as usize + c] = 10 + c as u8;
        t[b'A' as usize + c] = 10 + c as u8;
        c += 1;
    }
    t
};

/// The UUID whose 32 hex digits are at `digits` in `text` (which holds them all).
fn hex_bytes(text: &[u8], digits: &[u8; 32]) -> Option<Uuid> {
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let hi = HEX_VALUE[text[pair[0] as usize] as usize];
        let lo = HEX_VALUE[text[pair[1] as usize] as usize];
        bad |= (hi | lo) & 0xf0;
        out[i] = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(Uuid(out))
}

impl Uuid {
    /// The lower-case hyphenated text (what [`fmt::Display`] writes), as its 36 ASCII bytes:
    /// the answer's rule tokens copy it without going through a formatter. Each byte's two
    /// digits come from one table entry and go to a fixed place (no branch per byte).
    pub fn hyphenated(&self) -> [u8; 36] {
        let mut buf = [b'-'; 36];
        for (&byte, &at) in self.0.iter().zip(&DIGITS_AT) {
            let [hi, lo] = HEX_PAIRS[byte as usize];
            buf[at as usize] = hi;
            buf[at as usize + 1] = lo;
        }
        buf
    }
}

/// Where each byte's two hex digits go in the hyphenated text (hyphens at 8, 13, 18, 23).
const DIGITS_AT: [u8; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// Each byte's two lower-case hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [HEX[b >> 4], HEX[b & 0x0f]];
        b += 1;
    }
    t
};

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII was written.
        f.write_str(std::str::from_utf8(&self.hyphenated()).unwrap_or_default())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// Error returned by [`Uuid::from_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid uuid {0:?}")]
pub struct UuidParseError(pub String);

impl FromStr for Uuid {
    type Err = UuidParseError;
    fn from_str(s: &str) -> Result<Uuid, UuidParseError> {
        Uuid::parse(s).ok_or_else(|| UuidParseError(s.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms_and_display() {
        let want = "6ba7b812-9dad-11d1-80b4-00c04fd430c8";
        for s in [
            want,
            "6BA7B812-9DAD-11D1-80B4-00C04FD430C8",
            "{6ba7b812-9dad-11d1-80b4-00c04fd430c8}",
            "urn:uuid:6ba7b812-9dad-11d1-80b4-00c04fd430c8",
            "URN:UUID:6ba7b812-9dad-11d1-80b4-00c04fd430c8",
            "6ba7b8129dad11d180b400c04fd430c8",
        ] {
            assert_eq!(Uuid::parse(s), Some(NAMESPACE_OID), "{s}");
        }
        assert_eq!(NAMESPACE_OID.to_string(), want);
        for s in [
            "",
            " 6ba7b812-9dad-11d1-80b4-00c04fd430c8",
            "6ba7b812x9dad-11d1-80b4-00c04fd430c8",
            "6ba7b812-9dad-11d1-80b4-00c04fd430cg",
            "{6ba7b812-9dad-11d1-80b4-00c04fd430c8]",
            "urn:uuix:6ba7b812-9dad-11d1-80b4-00c04fd430c8",
            "6ba7b812-9dad-11d1-80b4-00c04fd430c",
            "é6ba7b812-9dad-11d1-80b4-00c04fd430",
        ] {
            assert_eq!(Uuid::parse(s), None, "{s}");
        }
    }

    /// The parser as it was before the digit table: the hyphenated body copied without its
    /// hyphens, each digit read with `char::to_digit`.
    fn parse_before(s: &str) -> Option<Uuid> {
        let b = s.as_bytes();
        let hex_of = |hex: &[u8]| -> Option<Uuid> {
            let mut out = [0u8; 16];
            for (i, pair) in hex.chunks_exact(2).enumerate() {
                let hi = (pair[0] as char).to_digit(16)?;
                let lo = (pair[1] as char).to_digit(16)?;
                out[i] = (hi * 16 + lo) as u8;
            }
            Some(Uuid(out))
        };
        let body: &[u8] = match b.len() {
            32 => return hex_of(b),
            36 => b,
            38 if b[0] == b'{' && b[37] == b'}' => &b[1..37],
            45 if b[..9].eq_ignore_ascii_case(b"urn:uuid:") => &b[9..],
            _ => return None,
        };
        if [8, 13, 18, 23].iter().any(|&i| body[i] != b'-') {
            return None;
        }
        let hex: Vec<u8> = (0..36)
            .filter(|i| ![8, 13, 18, 23].contains(i))
            .map(|i| body[i])
            .collect();
        hex_of(&hex)
    }

    #[test]
    fn parsing_agrees_with_the_parser_it_replaced() {
        let mut rng = crate::tests::rng::Rng::new(0x00d1d);
        let digits = b"0123456789abcdefABCDEF";
        let odd = ['g', 'G', '-', ' ', '{', '}', 'x', '/', ':', '@', '`', 'é'];
        let (mut valid, mut invalid) = (0, 0);
        for case in 0..20_000 {
            let mut s: String = (0..32).map(|_| *rng.pick(digits) as char).collect();
            if rng.chance(700) {
                for at in [8, 13, 18, 23] {
                    s.insert(at, '-');
                }
                match rng.index(4) {
                    0 => s = format!("{{{s}}}"),
                    1 => s = format!("{}{s}", rng.pick(&["urn:uuid:", "URN:uuid:", "urn:uuix:"])),
                    _ => {}
                }
            }
            if rng.chance(300) {
                let chars: Vec<char> = s.chars().collect();
                let at = rng.index(chars.len());
                s = chars
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| if i == at { *rng.pick(&odd) } else { c })
                    .collect();
            }
            let want = parse_before(&s);
            assert_eq!(Uuid::parse(&s), want, "case {case}: {s}");
            if want.is_some() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(valid > 5_000 && invalid > 2_000, "{valid} {invalid}");
    }

    /// The table-driven hyphenated text equals the bytes written one by one as two hex
    /// digits each, with hyphens after the 4th, 6th, 8th and 10th byte, and parses back.
    #[test]
    fn hyphenated_text_equals_the_bytes_as_hex() {
        let mut rng = crate::tests::rng::Rng::new(0x6879);
        let mut cases: Vec<[u8; 16]> = vec![[0; 16], [0xff; 16], NAMESPACE_OID.0];
        cases.extend((0..5_000).map(|_| {
            let mut b = [0u8; 16];
            b.iter_mut().for_each(|x| *x = rng.below(256) as u8);
            b
        }));
        for b in cases {
            let mut want = String::new();
            for (i, x) in b.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    want.push('-');
                }
                want.push_str(&format!("{x:02x}"));
            }
            let u = Uuid(b);
            assert_eq!(std::str::from_utf8(&u.hyphenated()).unwrap(), want);
            assert_eq!(u.to_string(), want);
            assert_eq!(Uuid::parse(&want), Some(u));
        }
    }

    #[test]
    fn v5_vectors() {
        // The org UUID of tenant `demo` as the reference service reports it.
        let demo = Uuid::for_tenant("demo");
        assert_eq!(demo.to_string(), "32a83486-1530-507c-add7-d97f4316b28b");
        assert_eq!(demo.version(), 5);
        assert_eq!(demo.0[8] & 0xc0, 0x80);
        // A tenant that is a UUID is used as is.
        assert_eq!(
            Uuid::for_tenant("6BA7B812-9DAD-11D1-80B4-00C04FD430C8"),
            NAMESPACE_OID
        );
        assert!(Uuid::NIL.is_nil());
        assert_eq!("x".parse::<Uuid>(), Err(UuidParseError("x".into())));
    }
}
