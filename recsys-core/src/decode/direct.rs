//! A `recommend` call read straight from its JSON text into the typed request's parts and
//! the call context, for the members common requests carry, with no tree, no path and no
//! list of findings. The reader only accepts what it is sure of: at the first thing outside
//! what it handles (another member, a repeated or differently cased one, `null`, an escape
//! or a control character in a string, a number that is not a plain integer, a value the
//! tree decoder would refuse, normalise differently or warn about) it gives up, and the call
//! is parsed and decoded by the tree decoder ([`crate::json::node`], `decode/request.rs`), so
//! every error (code, message, path) and every unusual request still come from that code.
//!
//! What is accepted is valid JSON within the parser's limits (checked before reading), so
//! giving up never hides a syntax or limit error. Checks that depend on the serving surface's
//! limits (`k`'s range, the candidate lists' lengths) are made when the request is resolved
//! against them ([`DirectRequest::resolve`]); when one fails, the request's own text is
//! decoded by the tree decoder there.

use super::request::trimmed;
use crate::config::Limits;
use crate::json::scan::special;
use crate::request::{
    is_path_safe, user_key, warnings, CallContext, Explain, Options, RecommendRequest, User,
    Warning,
};
use crate::serve::request::{CandidateIds, IdList};
use crate::serve::spec::RecommendParts;
use crate::time::Timestamp;

/// A `recommend` call's input read directly: its request and its context.
pub(crate) struct DirectCall<'t> {
    /// The `request` member.
    pub request: DirectRequest<'t>,
    /// The `ctx` member, decoded (it needs no limits).
    pub ctx: DirectContext<'t>,
}

/// A call context read directly: `now` parsed, the request id and the tenant trimmed slices
/// of the text (the reader gives up on `roles` and any other member, so there are none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct DirectContext<'t> {
    /// `ctx.now`.
    pub now: Timestamp,
    /// `ctx.request_id` (empty when absent).
    pub request_id: &'t str,
    /// `ctx.tenant`: not empty.
    pub tenant: &'t str,
}

impl DirectContext<'_> {
    /// The [`CallContext`] the tree decoder gives for the same `ctx` member.
    pub fn to_context(self) -> CallContext {
        let mut ctx = CallContext::new(self.now, self.tenant);
        ctx.request_id = self.request_id.to_string();
        ctx
    }

    /// Sets `ctx` to [`DirectContext::to_context`], its strings' buffers reused.
    pub fn fill(&self, ctx: &mut CallContext) {
        ctx.now = self.now;
        ctx.request_id.clear();
        ctx.request_id.push_str(self.request_id);
        ctx.tenant.clear();
        ctx.tenant.push_str(self.tenant);
        ctx.roles.clear();
        ctx.actor = None;
    }
}

/// A direct request normalised against the serving surface's limits: the defaults applied
/// (segment, k, options) and the warnings saying so; the rest is read from the request.
pub(crate) struct Checked<'t> {
    /// The segment, `default` when the request had none.
    pub segment: &'t str,
    /// Within `1..=max_k`.
    pub k: u32,
    /// The request's options, or the defaults.
    pub options: Options,
}

/// A `recommend` request's members as read from the text: strings trimmed, slices of it.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirectRequest<'t> {
    /// The `request` member's whole text, for the tree decoder when a limit-dependent check
    /// fails.
    pub text: &'t str,
    /// Non-empty and path-safe.
    surface: &'t str,
    /// Empty (defaulted when resolved) or path-safe.
    segment: &'t str,
    /// `None` when absent (defaulted when resolved).
    k: Option<i64>,
    /// `user_id`, `anonymous_id`, `session_id`; one at least is not empty.
    user: [&'t str; 3],
    /// `None` when absent (defaulted when resolved).
    options: Option<Options>,
    /// `candidates.include_ids` and `exclude_ids`: trimmed, blanks dropped, repeats left in
    /// (as the call path's tree decoding leaves them, see [`crate::serve::request::ListId`]).
    include: Vec<&'t str>,
    exclude: Vec<&'t str>,
}

impl<'t> DirectRequest<'t> {
    /// The surface the request names (trimmed).
    pub fn surface(&self) -> &'t str {
        self.surface
    }

    /// The request's members normalised against `limits` (as `RecommendRequest::decode_apart`
    /// normalises them), with the `DEFAULT_APPLIED` warnings of the defaults applied (in the
    /// tree decoder's order); `None` when a check against `limits` fails (the caller then
    /// decodes [`DirectRequest::text`]).
    pub fn check(&self, limits: &Limits) -> Option<(Checked<'t>, Vec<Warning>)> {
        let k = match self.k {
            None => None,
            Some(k) if k >= 1 && k <= i64::from(limits.max_k) => Some(k as u32),
            Some(_) => return None,
        };
        if self.include.len() > limits.max_include_ids
            || self.exclude.len() > limits.max_exclude_ids
        {
            return None;
        }
        let mut warned = Vec::new();
        let mut warn =
            |detail: String| warned.push(Warning::new(warnings::DEFAULT_APPLIED, detail));
        let segment = match self.segment {
            "" => {
                warn("segment defaulted to 'default'".into());
                "default"
            }
            s => s,
        };
        let k = k.unwrap_or_else(|| {
            let k = 20.min(limits.max_k);
            warn(format!("k defaulted to {k}"));
            k
        });
        let options = self.options.clone().unwrap_or_else(|| {
            warn("options defaulted".into());
            Options::default()
        });
        Some((
            Checked {
                segment,
                k,
                options,
            },
            warned,
        ))
    }

    /// What the decision reads of the request once `checked` ([`DirectRequest::check`]):
    /// borrowed from the request and the check, nothing copied.
    pub fn parts<'a>(&'a self, checked: &'a Checked<'t>) -> RecommendParts<'a> {
        let [user_id, anonymous_id, session_id] = self.user;
        RecommendParts {
            surface: self.surface,
            segment: checked.segment,
            k: checked.k,
            user_key: user_key(user_id, anonymous_id, session_id),
            weights: None,
            anchors: &[],
            include: IdList::Borrowed(&self.include),
            exclude: IdList::Borrowed(&self.exclude),
            constraints: None,
            options: &checked.options,
        }
    }

    /// The request normalised against `limits`, its candidate lists apart and the warnings
    /// of the defaults applied, as `RecommendRequest::decode_apart` gives them; `None` when
    /// a check against `limits` fails (see [`DirectRequest::check`]).
    pub fn resolve(
        &self,
        limits: &Limits,
    ) -> Option<(RecommendRequest, CandidateIds<&'t str>, Vec<Warning>)> {
        let (c, warned) = self.check(limits)?;
        let [user_id, anonymous_id, session_id] = self.user.map(str::to_string);
        let user = User {
            user_id,
            anonymous_id,
            session_id,
        };
        let surface = self.surface.to_string();
        let req =
            RecommendRequest::with_parts(surface, c.segment.to_string(), c.k, user, c.options);
        Some((req, (self.include.clone(), self.exclude.clone()), warned))
    }
}

/// Reads `text` as a `recommend` call's input (`{"request": ..., "ctx": ...}`); `None`
/// whenever the tree decoder is to read it instead (see the module's documentation).
pub(crate) fn read<'t>(text: &'t str, limits: &crate::json::Limits) -> Option<DirectCall<'t>> {
    // The reader's own bounds: four levels (`$.request.candidates.include_ids`), numbers of
    // at most 19 characters.
    if text.len() > limits.max_bytes || limits.max_depth < 4 || limits.max_number_len < 19 {
        return None;
    }
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        i: 0,
        members: limits.max_members,
    };
    let (mut request, mut ctx) = (None, None);
    r.members(&["request", "ctx"], |r, i| {
        match i {
            0 => request = Some(read_request(r)?),
            _ => ctx = Some(read_ctx(r)?),
        }
        Some(())
    })?;
    r.ws();
    if r.i != r.b.len() {
        return None;
    }
    Some(DirectCall {
        request: request?,
        ctx: ctx?,
    })
}

fn read_request<'t>(r: &mut Reader<'t>) -> Option<DirectRequest<'t>> {
    r.ws();
    let start = r.i;
    let mut q = DirectRequest::default();
    let names = ["surface", "segment", "k", "user", "options", "candidates"];
    r.members(&names, |r, i| {
        match i {
            0 => q.surface = r.trimmed()?,
            1 => q.segment = r.trimmed()?,
            2 => q.k = Some(r.integer()?),
            3 => q.user = read_user(r)?,
            4 => q.options = Some(read_options(r)?),
            _ => (q.include, q.exclude) = read_candidates(r)?,
        }
        Some(())
    })?;
    q.text = &r.text[start..r.i];
    // What the tree decoder would refuse whatever the limits.
    let surface_ok = path_safe(q.surface);
    let segment_ok = q.segment.is_empty() || path_safe(q.segment);
    let user_ok = q.user.iter().any(|s| !s.is_empty());
    (surface_ok && segment_ok && user_ok).then_some(q)
}

/// [`is_path_safe`] of a string the reader took: trimmed, and without a quote, backslash or
/// byte below 0x20 ([`Reader::string`] gives up on those). An ASCII one is then safe unless
/// it is empty, `.` or `..`, or holds `/` or DEL (the only other ASCII control character);
/// others are checked by [`is_path_safe`] itself (its second trim and character scan cost
/// ~160 instructions a string).
pub(super) fn path_safe(s: &str) -> bool {
    if !s.is_ascii() {
        return is_path_safe(s);
    }
    !matches!(s, "" | "." | "..") && !s.bytes().any(|b| b == b'/' || b == 0x7f)
}

fn read_user<'t>(r: &mut Reader<'t>) -> Option<[&'t str; 3]> {
    let mut u = [""; 3];
    r.members(&["user_id", "anonymous_id", "session_id"], |r, i| {
        u[i] = r.trimmed()?;
        Some(())
    })?;
    Some(u)
}

fn read_options(r: &mut Reader<'_>) -> Option<Options> {
    let mut o = Options::default();
    let names = ["include_reasons", "explain", "include_trace", "seed"];
    r.members(&names, |r, i| {
        match i {
            0 => o.include_reasons = r.boolean()?,
            1 => o.explain = explain(r.trimmed()?)?,
            2 => o.include_trace = r.boolean()?,
            _ => o.seed = r.integer()?,
        }
        Some(())
    })?;
    Some(o)
}

/// An `explain` level as the tree decoder reads it (empty: none); `None` for another word.
fn explain(s: &str) -> Option<Explain> {
    match s {
        "" => Some(Explain::None),
        s => [Explain::None, Explain::Summary, Explain::Full]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s)),
    }
}

/// `candidates`' two lists.
type Lists<'t> = (Vec<&'t str>, Vec<&'t str>);

fn read_candidates<'t>(r: &mut Reader<'t>) -> Option<Lists<'t>> {
    let mut lists: Lists<'t> = Default::default();
    r.members(&["include_ids", "exclude_ids"], |r, i| {
        match i {
            0 => lists.0 = r.ids()?,
            _ => lists.1 = r.ids()?,
        }
        Some(())
    })?;
    Some(lists)
}

fn read_ctx<'t>(r: &mut Reader<'t>) -> Option<DirectContext<'t>> {
    let mut ctx = [""; 3];
    r.members(&["now", "request_id", "tenant"], |r, i| {
        ctx[i] = r.trimmed()?;
        Some(())
    })?;
    let [now, request_id, tenant] = ctx;
    if tenant.is_empty() {
        return None;
    }
    Some(DirectContext {
        now: Timestamp::parse_rfc3339(now)?,
        request_id,
        tenant,
    })
}

/// A position in the text and the members the parser's limit still allows.
struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    members: usize,
}

impl<'t> Reader<'t> {
    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace (not consumed).
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// Consumes `c` after whitespace.
    fn byte(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Counts one object member or array element against the parser's limit.
    fn member(&mut self) -> Option<()> {
        self.members = self.members.checked_sub(1)?;
        Some(())
    }

    /// A string without escapes or control characters (inlined: a call's few strings are
    /// short, and a call each cost as much as the scan).
    #[inline(always)]
    fn string(&mut self) -> Option<&'t str> {
        self.byte(b'"')?;
        let start = self.i;
        let len = special(&self.b[start..], true);
        self.end_string(start, len)
    }

    /// The member name at the reader, as its index in `names` (none has a quote, backslash
    /// or control character): the name's bytes and the closing quote after them, compared
    /// in place (a member name with an escape or a control character matches none).
    fn key(&mut self, names: &[&str]) -> Option<usize> {
        self.byte(b'"')?;
        let rest = &self.b[self.i..];
        let i = names.iter().position(|n| {
            let n = n.as_bytes();
            rest.get(n.len()) == Some(&b'"') && rest.starts_with(n)
        })?;
        self.i += names[i].len() + 1;
        Some(i)
    }

    /// The string of `len` bytes at `start`, if its closing quote follows.
    fn end_string(&mut self, start: usize, len: usize) -> Option<&'t str> {
        let end = start + len;
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        // Both ends are next to ASCII quotes: character boundaries.
        self.text.get(start..end)
    }

    /// A string, trimmed as the tree decoder trims string members.
    fn trimmed(&mut self) -> Option<&'t str> {
        self.string().map(trimmed)
    }

    /// `true` or `false`.
    fn boolean(&mut self) -> Option<bool> {
        self.ws();
        let rest = &self.b[self.i..];
        let (v, n) = match () {
            _ if rest.starts_with(b"true") => (true, 4),
            _ if rest.starts_with(b"false") => (false, 5),
            _ => return None,
        };
        self.i += n;
        Some(v)
    }

    /// A plain integer literal (`-?(0|[1-9][0-9]*)`, at most 18 digits, no fraction or
    /// exponent), whose value is the tree decoder's for it.
    fn integer(&mut self) -> Option<i64> {
        self.ws();
        let negative = self.b.get(self.i) == Some(&b'-');
        let start = self.i + usize::from(negative);
        let digits = self.b[start.min(self.b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let end = start + digits;
        let leading_zero = digits > 1 && self.b[start] == b'0';
        if digits == 0 || digits > 18 || leading_zero {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(end) {
            return None;
        }
        let n = (self.b[start..end].iter()).fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'));
        self.i = end;
        Some(if negative { -n } else { n })
    }

    /// An array of id strings, trimmed, blanks dropped.
    fn ids(&mut self) -> Option<Vec<&'t str>> {
        self.byte(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            self.member()?;
            let id = trimmed(self.string()?);
            if !id.is_empty() {
                out.push(id);
            }
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// An object whose members are all among `names` (matched exactly), each at most once:
    /// `member` reads the value of `names[i]`.
    fn members(
        &mut self,
        names: &[&str],
        mut member: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        let mut seen = 0u32;
        self.byte(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.member()?;
            let i = self.key(names)?;
            if seen & (1 << i) != 0 {
                return None;
            }
            seen |= 1 << i;
            self.byte(b':')?;
            member(self, i)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}
