//! Small admin inputs (`{"tenant", ...}` objects of the `admin.*` operations) on the strict
//! decoder: exact keys, every member outside the allowed list a problem naming the allowed
//! ones, members read in a fixed order; the first problem found refuses the input
//! (`RECSYS_INVALID_REQUEST` with its message, [`Refused`]).

use super::{Decoder, Keys, ProblemKind, Style};
use crate::error::{ApiError, ErrorCode};
use crate::json::{self, Map, Value};

const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::InvalidRequest,
    wrong_type: ErrorCode::InvalidRequest,
    unknown_message: |k| format!("unknown member {k}"),
};

/// An admin input refused: the message of its first problem (`RECSYS_INVALID_REQUEST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequest, r.0)
    }
}

impl From<Refused> for crate::control::ControlError {
    fn from(r: Refused) -> crate::control::ControlError {
        crate::control::ControlError::invalid_request(r.0)
    }
}

/// An admin op's input being read.
pub struct Input<'a> {
    m: &'a Map,
    d: Decoder,
}

impl<'a> Input<'a> {
    /// The input object, every member outside `allowed` a problem.
    pub fn new(input: &'a Value, allowed: &[&str]) -> Result<Input<'a>, Refused> {
        let m = input
            .as_object()
            .ok_or_else(|| Refused("input must be a json object".into()))?;
        Ok(Input::of(m, allowed))
    }

    /// The input's members, every member outside `allowed` a problem.
    pub fn of(m: &'a Map, allowed: &[&str]) -> Input<'a> {
        let mut d = Decoder::new("$", STYLE);
        for (k, _) in m.iter() {
            if !allowed.contains(&k) {
                let message = format!(
                    "unknown member {k:?}; expected one of {}",
                    allowed.join(", ")
                );
                d.field(k, |d| {
                    d.report(ProblemKind::Decode, ErrorCode::InvalidRequest, message)
                });
            }
        }
        Input { m, d }
    }

    /// The raw member `key` (`null` included), for members with their own shape.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.m.get(key)
    }

    /// A problem with member `key`.
    pub fn problem(&mut self, key: &str, message: String) {
        self.d.field(key, |d| {
            d.report(ProblemKind::Invalid, ErrorCode::InvalidRequest, message)
        });
    }

    /// An optional string member (`null` = absent).
    pub fn str(&mut self, key: &str) -> Option<&'a str> {
        match self.m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.problem(
                    key,
                    format!("{key} must be a string, got {}", v.type_name()),
                );
                None
            }
        }
    }

    /// `tenant` (absent = empty, refused by the control plane).
    pub fn tenant(&mut self) -> &'a str {
        self.str("tenant").unwrap_or("")
    }

    /// A document member as its JSON text: a string member is the text itself, any other
    /// value is written out (`None` when absent).
    pub fn document(&self, key: &str) -> Option<String> {
        match self.m.get(key)? {
            Value::String(s) => Some(s.clone()),
            v => Some(json::to_string(v)),
        }
    }

    /// A non-negative integer member, given as a JSON integer or as its decimal text (what an
    /// HTTP query parameter carries); `None` when absent, null or an empty string.
    pub fn int(&mut self, key: &str) -> Option<u64> {
        let shown = match self.m.get(key) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) => match u64::try_from(i) {
                    Ok(u) => return Some(u),
                    Err(_) => i.to_string(),
                },
                None => n.literal().to_string(),
            },
            Some(Value::String(s)) if s.trim().is_empty() => return None,
            Some(Value::String(s)) => {
                let t = s.trim();
                match t.parse::<u64>() {
                    Ok(i) if i <= i64::MAX as u64 && t.bytes().all(|b| b.is_ascii_digit()) => {
                        return Some(i)
                    }
                    _ => format!("{s:?}"),
                }
            }
            Some(v) => v.type_name().to_string(),
        };
        self.problem(
            key,
            format!("{key} must be a non-negative integer, got {shown}"),
        );
        None
    }

    /// Ok when nothing was found; otherwise the first problem's message.
    pub fn done(self) -> Result<(), Refused> {
        match self.d.into_problems().into_iter().next() {
            None => Ok(()),
            Some(p) => Err(Refused(p.message)),
        }
    }
}
