//! JSON as the documents need it: a strict, bounded parser that keeps number literals and
//! duplicate keys as written (into an owned [`Value`] tree, or, for a serving call's request
//! read once, a tree borrowing the text's strings: `node`), three output forms (compact
//! responses, the PostgreSQL `jsonb` text form behind ETags, and Go's `encoding/json` form
//! behind artifact version hashes), and the ETag / If-Match helpers built on the canonical
//! form.

mod canonical;
pub(crate) mod embedded;
mod float;
mod limits;
pub(crate) mod node;
mod parse;
pub(crate) mod scan;
pub(crate) mod ser;
#[cfg(feature = "serde")]
mod serde;
mod value;
pub(crate) mod write;

pub use canonical::{
    canonical_text, canonical_value_text, canonical_value_text_within, etag, etag_of_value,
    if_match_matches, normalize_if_match, MAX_CANONICAL_NUMBER_LEN,
};
pub use float::format_go_float;
pub use limits::check_value;
pub use parse::{
    parse, parse_with, parse_with_raw_members, JsonError, JsonErrorKind, Limits, RawMember,
};
pub use ser::{to_text, to_value, SerError};
pub(crate) use value::{literal_f64, literal_integral_i64};
pub use value::{Map, Number, Value};
pub(crate) use write::write_i64;
pub use write::{to_go_string, to_string, write_go_string};
