//! Audit entries: the draft the control plane writes, the sealed entry the store keeps, the
//! per-tenant hash chain that makes tampering detectable, and the opaque keyset cursor used
//! to page through a tenant's log.
//!
//! # Hash chain
//!
//! Every entry carries `prev_hash` (the `hash` of the tenant's previous entry, `null` for the
//! first) and a `hash` over `prev_hash_text ‖ canonical JSON of the entry without hash`,
//! where `prev_hash_text` is the empty string for the first entry and the canonical JSON is
//! the `jsonb` text form of [`AuditEntry::body_value`]. Changing any field of a stored entry
//! breaks its own hash; deleting or reordering entries breaks the next entry's link.
//!
//! With an [`AuditKeyring`] (the engine option `audit_keys`: a host secret per key id), the
//! hash is keyed: `hash = "hmac-sha256:<key id>:" + hex(HMAC-SHA256(secret, input))`, so
//! nobody without the secret can recompute a chain after editing it. Keys rotate by id: new
//! entries use the active key, older ones verify with the key their `hash` names. Without a
//! keyring, `hash` is the plain `sha256_hex(input)` (tamper-evident only against accidents).
//! Every write returns the new chain head (entry id and hash); a host that keeps it
//! elsewhere can have `verify_audit` check the chain against it, which reports truncation
//! (the head is gone) and rewrites (the entry at the head's id has another hash).
//!
//! # Cursor
//!
//! Listing is ordered by `(occurred_at, id)` descending. A cursor encodes the key of the last
//! entry returned; the next page holds the entries strictly below it. Because ids are unique,
//! the key is unique, so pages never skip or repeat an entry even when many entries share a
//! timestamp.

use crate::json::{self, Map, Value};
use crate::ops::digest::{hex, hmac_sha256};
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

/// Prefix of a keyed (HMAC) entry hash: `hmac-sha256:<key id>:<hex>`.
pub const KEYED_HASH_PREFIX: &str = "hmac-sha256:";

/// The shortest audit secret accepted, in bytes.
pub const MIN_AUDIT_KEY_BYTES: usize = 16;

/// The host's audit secrets by key id, and the id new entries are keyed with.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKeyring {
    active: String,
    keys: BTreeMap<String, Arc<[u8]>>,
}

impl fmt::Debug for AuditKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret.
        f.debug_struct("AuditKeyring")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuditKeyring {
    /// A keyring from `(key id, secret)` pairs; `active` keys new entries. Ids are 1-64
    /// characters of `[A-Za-z0-9_.-]`; secrets at least [`MIN_AUDIT_KEY_BYTES`] bytes.
    pub fn new<I, K, S>(active: &str, keys: I) -> Result<AuditKeyring, String>
    where
        I: IntoIterator<Item = (K, S)>,
        K: Into<String>,
        S: AsRef<[u8]>,
    {
        let mut map = BTreeMap::new();
        for (id, secret) in keys {
            let id = id.into();
            let valid_id = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid_id {
                return Err(format!(
                    "audit key id {id:?} must be 1-64 characters of letters, digits, '_', '.', '-'"
                ));
            }
            if secret.as_ref().len() < MIN_AUDIT_KEY_BYTES {
                return Err(format!(
                    "audit key {id:?} is shorter than {MIN_AUDIT_KEY_BYTES} bytes"
                ));
            }
            map.insert(id, Arc::from(secret.as_ref()));
        }
        if !map.contains_key(active) {
            return Err(format!("active audit key {active:?} is not among the keys"));
        }
        Ok(AuditKeyring {
            active: active.to_owned(),
            keys: map,
        })
    }

    /// Reads the engine option `{"active": "<id>", "keys": {"<id>": "<secret>", ...}}`.
    pub fn from_value(v: &Value) -> Result<AuditKeyring, String> {
        let m = v
            .as_object()
            .ok_or("audit_keys must be an object {\"active\", \"keys\"}")?;
        for (k, _) in m.iter() {
            if k != "active" && k != "keys" {
                return Err(format!("unknown member {k:?} in audit_keys"));
            }
        }
        let active = m
            .get("active")
            .and_then(Value::as_str)
            .ok_or("audit_keys.active must be a key id")?;
        let keys = m
            .get("keys")
            .and_then(Value::as_object)
            .ok_or("audit_keys.keys must be an object of key id -> secret")?;
        let mut pairs = Vec::with_capacity(keys.len());
        for (id, s) in keys.deduped() {
            let secret = s
                .as_str()
                .ok_or_else(|| format!("audit key {id:?} must be a string"))?;
            pairs.push((id.to_owned(), secret.as_bytes().to_vec()));
        }
        AuditKeyring::new(active, pairs)
    }

    /// The signer of new entries (the active key).
    pub fn signer(&self) -> AuditSigner {
        AuditSigner {
            key_id: self.active.clone(),
            key: self.keys[&self.active].clone(),
        }
    }

    fn key(&self, id: &str) -> Option<&[u8]> {
        self.keys.get(id).map(|k| &**k)
    }
}

/// The key a draft is sealed with (carried by the draft to the store's `seal`).
#[derive(Clone, PartialEq, Eq)]
pub struct AuditSigner {
    key_id: String,
    key: Arc<[u8]>,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AuditSigner {
    /// The id of the key drafts are sealed with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// `hmac-sha256:<id>:<hex>` of `input` under `key`.
fn keyed_hash(key_id: &str, key: &[u8], input: &[u8]) -> String {
    format!(
        "{KEYED_HASH_PREFIX}{key_id}:{}",
        hex(&hmac_sha256(key, input))
    )
}

/// The chain head a write leaves: the newest entry's id and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditHead {
    /// The entry's id.
    pub id: u64,
    /// The entry's chained hash.
    pub hash: String,
}

impl AuditHead {
    /// The head an entry leaves the chain at.
    pub fn of(e: &AuditEntry) -> AuditHead {
        AuditHead {
            id: e.id,
            hash: e.hash.clone(),
        }
    }
    /// `{"id": n, "hash": "..."}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(2);
        m.push("id", Value::u64(self.id));
        m.push("hash", Value::str(&self.hash));
        Value::Object(m)
    }
    /// Reads [`AuditHead::to_value`].
    pub fn from_value(v: &Value) -> Option<AuditHead> {
        let m = v.as_object()?;
        Some(AuditHead {
            id: m.get("id")?.as_number()?.as_i64()?.try_into().ok()?,
            hash: m.get("hash")?.as_str()?.to_owned(),
        })
    }
}

/// Stable action names written into the audit log.
pub mod actions {
    /// A config document became current through a put.
    pub const CONFIG_UPDATE: &str = "config.update";
    /// A rules document became current through a put.
    pub const RULES_UPDATE: &str = "rules.update";
    /// A config version became current again through a rollback helper.
    pub const CONFIG_ROLLBACK: &str = "config.rollback";
    /// A rules version became current again through a rollback helper.
    pub const RULES_ROLLBACK: &str = "rules.rollback";
    /// Caches were invalidated.
    pub const CACHE_INVALIDATE: &str = "cache.invalidate";
    /// A surface was pinned to a manifest (artifact rollback); `extra.manifest` holds the
    /// manifest text so every process of a fleet can apply the same pin.
    pub const ARTIFACTS_PIN: &str = "artifacts.pin";
    /// A surface's pin was released.
    pub const ARTIFACTS_UNPIN: &str = "artifacts.unpin";
    /// Held empty publishes of a surface were released.
    pub const ARTIFACTS_RELEASE: &str = "artifacts.release";
    /// A release (config, rules and artifact pins as one unit) was published.
    pub const RELEASE_PUBLISH: &str = "release.publish";
    /// The tenant went back to an earlier release.
    pub const RELEASE_ROLLBACK: &str = "release.rollback";
}

/// Who did it: the principal's subject and its type (`user`, `api_key`, `system`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Who acted: the caller's subject.
    pub subject: String,
    /// What kind of caller acted (`user`, `service`, ...).
    pub actor_type: String,
}

/// What was changed: an entity type (`tenant_config`, `tenant_rules`, `cache_invalidation`)
/// and, for documents, the version (ETag) that became current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// What kind of thing changed (`config`, `rules`, `artifact`, ...).
    pub entity_type: String,
    /// Its id (a version's ETag), when it has one.
    pub id: Option<String>,
}

/// The unique ordering key of an entry in a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditKey {
    /// When the entry happened.
    pub occurred_at: Timestamp,
    /// The entry's id.
    pub id: u64,
}

/// An entry before the store has assigned its id and chained it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditDraft {
    /// The tenant the entry belongs to.
    pub tenant: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// What was done (`config.update`, `rules.rollback`, ...).
    pub action: String,
    /// What it was done to.
    pub entity: Entity,
    /// The request id of the call that did it.
    pub request_id: Option<String>,
    /// The state before the change, when recorded.
    pub before_state: Option<Value>,
    /// The state after the change, when recorded.
    pub after_state: Option<Value>,
    /// Anything else the action records.
    pub extra: Option<Value>,
    /// The key the entry is sealed with (`None`: plain SHA-256 chain).
    pub signer: Option<AuditSigner>,
}

impl AuditDraft {
    /// The draft an entry was sealed from (its id, `prev_hash` and `hash` dropped), to be
    /// sealed again with `signer` (hosts that carry drafts as entry text; audit tooling).
    pub fn from_entry(e: AuditEntry, signer: Option<AuditSigner>) -> AuditDraft {
        AuditDraft {
            tenant: e.tenant,
            occurred_at: e.occurred_at,
            actor: e.actor,
            action: e.action,
            entity: e.entity,
            request_id: e.request_id,
            before_state: e.before_state,
            after_state: e.after_state,
            extra: e.extra,
            signer,
        }
    }

    /// Turns the draft into a chained entry. A store calls this inside the same atomic step
    /// in which it assigns `id` (greater than every id it assigned before) and reads the hash
    /// of the tenant's last entry (`None` when the tenant has none).
    pub fn seal(self, id: u64, prev_hash: Option<&str>) -> AuditEntry {
        let mut entry = AuditEntry {
            id,
            occurred_at: self.occurred_at,
            tenant: self.tenant,
            actor: self.actor,
            action: self.action,
            entity: self.entity,
            request_id: self.request_id,
            before_state: self.before_state,
            after_state: self.after_state,
            extra: self.extra,
            prev_hash: prev_hash.map(str::to_owned),
            hash: String::new(),
        };
        entry.hash = match &self.signer {
            Some(s) => keyed_hash(&s.key_id, &s.key, &entry.hash_input()),
            None => entry.compute_hash(),
        };
        entry
    }
}

/// A stored, chained audit entry.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Store-assigned, strictly increasing (per store; per tenant they increase too).
    pub id: u64,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// The tenant the entry belongs to.
    pub tenant: String,
    /// Who acted.
    pub actor: Actor,
    /// What was done (`config.update`, `rules.rollback`, ...).
    pub action: String,
    /// What it was done to.
    pub entity: Entity,
    /// The request id of the call that did it.
    pub request_id: Option<String>,
    /// The state before the change, when recorded.
    pub before_state: Option<Value>,
    /// The state after the change, when recorded.
    pub after_state: Option<Value>,
    /// Anything else the action records.
    pub extra: Option<Value>,
    /// Hash of the tenant's previous entry; `None` for the first entry.
    pub prev_hash: Option<String>,
    /// See the module documentation.
    pub hash: String,
}

fn opt_str(s: &Option<String>) -> Value {
    s.as_deref().map(Value::str).unwrap_or(Value::Null)
}

fn opt_value(v: &Option<Value>) -> Value {
    v.clone().unwrap_or(Value::Null)
}

impl AuditEntry {
    /// The entry's listing key (time, id).
    pub fn key(&self) -> AuditKey {
        AuditKey {
            occurred_at: self.occurred_at,
            id: self.id,
        }
    }

    /// True for `config.update`, `config.rollback`, `rules.update`, `rules.rollback`: the
    /// entries that record a pointer move.
    pub fn is_pointer_move(&self) -> bool {
        matches!(
            self.action.as_str(),
            actions::CONFIG_UPDATE
                | actions::CONFIG_ROLLBACK
                | actions::RULES_UPDATE
                | actions::RULES_ROLLBACK
        )
    }

    /// Every field except `hash`, absent values as `null`: the value the hash covers.
    pub fn body_value(&self) -> Value {
        let mut m = Map::with_capacity(12);
        m.push("id", Value::u64(self.id));
        m.push(
            "occurred_at",
            Value::str(self.occurred_at.to_rfc3339_nanos()),
        );
        m.push("tenant_id", Value::str(&self.tenant));
        m.push("actor", actor_value(&self.actor));
        m.push("action", Value::str(&self.action));
        m.push("entity", entity_value(&self.entity));
        m.push("request_id", opt_str(&self.request_id));
        m.push("before_state", opt_value(&self.before_state));
        m.push("after_state", opt_value(&self.after_state));
        m.push("extra", opt_value(&self.extra));
        m.push("prev_hash", opt_str(&self.prev_hash));
        Value::Object(m)
    }

    /// Recomputes the plain (unkeyed) hash from the entry's fields (ignores the stored
    /// `hash`).
    pub fn compute_hash(&self) -> String {
        sha256_hex(&self.hash_input())
    }

    /// What the hash covers: `prev_hash_text ‖ canonical body`.
    fn hash_input(&self) -> Vec<u8> {
        let body = self.body_value();
        // Documents in states were canonicalised before they were written and free-text
        // fields never contain NUL, so the canonical form always exists; the compact form is
        // a deterministic fallback for entries built by hand.
        let text = json::canonical_value_text(&body).unwrap_or_else(|_| json::to_string(&body));
        let mut input = String::with_capacity(64 + text.len());
        input.push_str(self.prev_hash.as_deref().unwrap_or(""));
        input.push_str(&text);
        input.into_bytes()
    }

    /// Checks the stored `hash` against the entry's content: keyed hashes with the key they
    /// name from `keys`; with a keyring, an unkeyed hash is refused (anyone can compute it).
    pub(crate) fn check_hash(&self, keys: Option<&AuditKeyring>) -> Result<(), TamperReason> {
        let expected = match self.hash.strip_prefix(KEYED_HASH_PREFIX) {
            Some(rest) => {
                let id = rest.split_once(':').map(|(id, _)| id).unwrap_or("");
                let key = keys
                    .and_then(|k| k.key(id))
                    .ok_or(TamperReason::UnknownKey)?;
                keyed_hash(id, key, &self.hash_input())
            }
            None if keys.is_some() => return Err(TamperReason::Unkeyed),
            None => self.compute_hash(),
        };
        if crate::ops::digest::constant_time_eq(expected.as_bytes(), self.hash.as_bytes()) {
            Ok(())
        } else {
            Err(TamperReason::HashMismatch)
        }
    }

    /// The entry as JSON: [`AuditEntry::body_value`] plus `hash`. With `redacted`, the
    /// `before_state`, `after_state` and `extra` members are omitted (what viewers get).
    pub fn to_value(&self, redacted: bool) -> Value {
        let mut m = Map::with_capacity(12);
        if let Value::Object(body) = self.body_value() {
            for (k, v) in body.into_vec() {
                if redacted && matches!(k.as_str(), "before_state" | "after_state" | "extra") {
                    continue;
                }
                m.push(k, v);
            }
        }
        m.push("hash", Value::str(&self.hash));
        Value::Object(m)
    }

    /// Reads an entry back from [`AuditEntry::to_value`]`(false)` (for hosts that keep the
    /// log as JSON and for verifying exported logs).
    pub fn from_value(v: &Value) -> Option<AuditEntry> {
        let m = v.as_object()?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let os = |k: &str| -> Option<Option<String>> {
            match m.get(k) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(x)) => Some(Some(x.clone())),
                _ => None,
            }
        };
        let ov = |k: &str| match m.get(k) {
            None | Some(Value::Null) => None,
            Some(x) => Some(x.clone()),
        };
        let actor = m.get("actor")?.as_object()?;
        let entity = m.get("entity")?.as_object()?;
        let entity_id = match entity.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(x)) => Some(x.clone()),
            _ => return None,
        };
        Some(AuditEntry {
            id: m.get("id")?.as_number()?.literal().parse().ok()?,
            occurred_at: Timestamp::parse_rfc3339(m.get("occurred_at")?.as_str()?)?,
            tenant: s("tenant_id")?,
            actor: Actor {
                subject: actor.get("subject")?.as_str()?.to_owned(),
                actor_type: actor.get("type")?.as_str()?.to_owned(),
            },
            action: s("action")?,
            entity: Entity {
                entity_type: entity.get("type")?.as_str()?.to_owned(),
                id: entity_id,
            },
            request_id: os("request_id")?,
            before_state: ov("before_state"),
            after_state: ov("after_state"),
            extra: ov("extra"),
            prev_hash: os("prev_hash")?,
            hash: s("hash")?,
        })
    }
}

fn actor_value(a: &Actor) -> Value {
    let mut m = Map::with_capacity(2);
    m.push("subject", Value::str(&a.subject));
    m.push("type", Value::str(&a.actor_type));
    Value::Object(m)
}

fn entity_value(e: &Entity) -> Value {
    let mut m = Map::with_capacity(2);
    m.push("type", Value::str(&e.entity_type));
    m.push("id", opt_str(&e.id));
    Value::Object(m)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Why a chain failed verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperReason {
    /// The entry's stored hash does not match its content.
    HashMismatch,
    /// The entry's `prev_hash` is not the previous entry's hash (an entry was removed,
    /// inserted or reordered).
    BrokenLink,
    /// Ids do not strictly increase.
    OutOfOrder,
    /// The entry belongs to another tenant.
    TenantMismatch,
    /// The entry's hash names a key id the keyring does not hold.
    UnknownKey,
    /// The entry's hash is unkeyed although audit keys are configured.
    Unkeyed,
    /// The chain ends before the expected head (entries were removed from its end).
    Truncated,
    /// The entry at the expected head's id has another hash (the log was rewritten).
    HeadMismatch,
}

impl fmt::Display for TamperReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TamperReason::HashMismatch => "hash does not match the entry",
            TamperReason::BrokenLink => "prev_hash does not match the previous entry",
            TamperReason::OutOfOrder => "ids do not increase",
            TamperReason::TenantMismatch => "entry belongs to another tenant",
            TamperReason::UnknownKey => "hash names an unknown audit key",
            TamperReason::Unkeyed => "hash is not keyed although audit keys are configured",
            TamperReason::Truncated => "the chain ends before the expected head",
            TamperReason::HeadMismatch => "the entry at the expected head has another hash",
        })
    }
}

impl TamperReason {
    /// The reason's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperReason::HashMismatch => "hash_mismatch",
            TamperReason::BrokenLink => "broken_link",
            TamperReason::OutOfOrder => "out_of_order",
            TamperReason::TenantMismatch => "tenant_mismatch",
            TamperReason::UnknownKey => "unknown_key",
            TamperReason::Unkeyed => "unkeyed",
            TamperReason::Truncated => "truncated",
            TamperReason::HeadMismatch => "head_mismatch",
        }
    }
}

/// The first entry at which a chain fails verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {at_id}: {reason}")]
pub struct TamperError {
    pub at_id: u64,
    pub reason: TamperReason,
}

/// Incremental verifier of one tenant's chain, fed entries in id order (so long logs can be
/// verified page by page).
#[derive(Clone, Debug, Default)]
pub struct ChainVerifier {
    tenant: Option<String>,
    last_id: Option<u64>,
    last_hash: Option<String>,
    count: u64,
    keys: Option<Arc<AuditKeyring>>,
    expected_head: Option<AuditHead>,
    head_seen: bool,
}

impl ChainVerifier {
    /// A verifier for a chain that starts at the tenant's first entry. With `tenant`, every
    /// entry must belong to it; without, every entry must belong to the first entry's tenant.
    pub fn new(tenant: Option<&str>) -> ChainVerifier {
        ChainVerifier {
            tenant: tenant.map(str::to_owned),
            ..ChainVerifier::default()
        }
    }

    /// Verifies keyed hashes with `keys` (and refuses unkeyed ones).
    pub fn with_keys(mut self, keys: Option<Arc<AuditKeyring>>) -> ChainVerifier {
        self.keys = keys;
        self
    }

    /// Requires the chain to contain `head` (an id and hash a write returned earlier).
    pub fn expecting_head(mut self, head: Option<AuditHead>) -> ChainVerifier {
        self.expected_head = head;
        self
    }

    /// After the last entry: fails when the expected head never appeared (truncation).
    pub fn finish(&self) -> Result<(), TamperError> {
        match &self.expected_head {
            Some(h) if !self.head_seen => Err(TamperError {
                at_id: h.id,
                reason: TamperReason::Truncated,
            }),
            _ => Ok(()),
        }
    }

    /// Checks the next entry.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), TamperError> {
        let fail = |reason| TamperError {
            at_id: e.id,
            reason,
        };
        match &self.tenant {
            Some(t) if *t != e.tenant => return Err(fail(TamperReason::TenantMismatch)),
            Some(_) => {}
            None => self.tenant = Some(e.tenant.clone()),
        }
        if matches!(self.last_id, Some(last) if e.id <= last) {
            return Err(fail(TamperReason::OutOfOrder));
        }
        if e.prev_hash != self.last_hash {
            return Err(fail(TamperReason::BrokenLink));
        }
        e.check_hash(self.keys.as_deref()).map_err(fail)?;
        if let Some(h) = &self.expected_head {
            if h.id == e.id {
                if h.hash != e.hash {
                    return Err(fail(TamperReason::HeadMismatch));
                }
                self.head_seen = true;
            } else if e.id > h.id && !self.head_seen {
                // Ids only increase: the head's id was skipped, so its entry is gone.
                return Err(fail(TamperReason::HeadMismatch));
            }
        }
        self.last_id = Some(e.id);
        self.last_hash = Some(e.hash.clone());
        self.count += 1;
        Ok(())
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Hash of the last verified entry (the chain head).
    pub fn head(&self) -> Option<&str> {
        self.last_hash.as_deref()
    }
}

#[cfg(test)]
/// Verifies a tenant's complete chain, given in id order from its first entry.
pub fn verify_audit_chain(entries: &[AuditEntry]) -> Result<(), TamperError> {
    let mut v = ChainVerifier::new(None);
    entries.iter().try_for_each(|e| v.push(e))?;
    v.finish()
}

const CURSOR_PREFIX: &str = "a1.";

/// Encodes a listing key as an opaque cursor.
pub fn encode_cursor(key: AuditKey) -> String {
    let mut s = String::with_capacity(CURSOR_PREFIX.len() + 40);
    s.push_str(CURSOR_PREFIX);
    let mut bytes = Vec::with_capacity(20);
    bytes.extend_from_slice(&key.occurred_at.secs.to_be_bytes());
    bytes.extend_from_slice(&key.occurred_at.nanos.to_be_bytes());
    bytes.extend_from_slice(&key.id.to_be_bytes());
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes a cursor made by [`encode_cursor`]; `None` for anything else.
pub fn decode_cursor(s: &str) -> Option<AuditKey> {
    let hex = s.strip_prefix(CURSOR_PREFIX)?;
    if hex.len() != 40 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0u8; 20];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    let secs = i64::from_be_bytes(bytes[0..8].try_into().ok()?);
    let nanos = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
    let id = u64::from_be_bytes(bytes[12..20].try_into().ok()?);
    if nanos >= 1_000_000_000 {
        return None;
    }
    Some(AuditKey {
        occurred_at: Timestamp { secs, nanos },
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(action: &str, after: Option<Value>) -> AuditDraft {
        AuditDraft {
            tenant: "t1".into(),
            occurred_at: Timestamp {
                secs: 1_767_323_045,
                nanos: 120_000_000,
            },
            actor: Actor {
                subject: "alice".into(),
                actor_type: "user".into(),
            },
            action: action.into(),
            entity: Entity {
                entity_type: "tenant_config".into(),
                id: Some("ab".repeat(32)),
            },
            request_id: Some("req-1".into()),
            before_state: None,
            after_state: after,
            extra: None,
            signer: None,
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| e.hash.clone());
            let after = crate::json::parse(format!("{{\"n\":{i}}}").as_bytes()).unwrap();
            out.push(draft(actions::CONFIG_UPDATE, Some(after)).seal(i * 3 + 1, prev.as_deref()));
        }
        out
    }

    #[test]
    fn seal_links_and_verifies() {
        let c = chain(5);
        assert_eq!(c[0].prev_hash, None);
        assert_eq!(c[1].prev_hash.as_deref(), Some(c[0].hash.as_str()));
        assert_eq!(c[0].hash.len(), 64);
        verify_audit_chain(&c).unwrap();
        verify_audit_chain(&[]).unwrap();
    }

    #[test]
    fn hash_covers_prev_hash_and_body() {
        let e = draft(actions::CONFIG_UPDATE, None).seal(1, None);
        let body = crate::json::canonical_value_text(&e.body_value()).unwrap();
        assert_eq!(e.hash, sha256_hex(body.as_bytes()));
        let e2 = draft(actions::CONFIG_UPDATE, None).seal(1, Some("x"));
        assert_eq!(
            e2.hash,
            sha256_hex(format!("x{}", e2.body_value_text()).as_bytes())
        );
    }

    impl AuditEntry {
        fn body_value_text(&self) -> String {
            crate::json::canonical_value_text(&self.body_value()).unwrap()
        }
    }

    #[test]
    fn detects_each_kind_of_tampering() {
        let c = chain(4);
        let mut t = c.clone();
        t[2].after_state = Some(Value::str("evil"));
        assert_eq!(
            verify_audit_chain(&t),
            Err(TamperError {
                at_id: t[2].id,
                reason: TamperReason::HashMismatch
            })
        );
        let mut t = c.clone();
        t.remove(1);
        assert_eq!(
            verify_audit_chain(&t).unwrap_err(),
            TamperError {
                at_id: c[2].id,
                reason: TamperReason::BrokenLink
            }
        );
        let mut t = c.clone();
        t.swap(1, 2);
        assert_eq!(
            verify_audit_chain(&t).unwrap_err(),
            TamperError {
                at_id: c[2].id,
                reason: TamperReason::BrokenLink
            }
        );
        let mut t = c.clone();
        t[2].id = t[1].id;
        assert_eq!(
            verify_audit_chain(&t).unwrap_err().reason,
            TamperReason::OutOfOrder
        );
        let mut t = c.clone();
        t[3].tenant = "t2".into();
        assert_eq!(
            verify_audit_chain(&t).unwrap_err(),
            TamperError {
                at_id: c[3].id,
                reason: TamperReason::TenantMismatch
            }
        );
        // Re-hashing a modified entry still breaks the next link.
        let mut t = c.clone();
        t[1].actor.subject = "mallory".into();
        t[1].hash = t[1].compute_hash();
        assert_eq!(
            verify_audit_chain(&t).unwrap_err(),
            TamperError {
                at_id: c[2].id,
                reason: TamperReason::BrokenLink
            }
        );
    }

    #[test]
    fn json_roundtrip_and_redaction() {
        for e in chain(3) {
            let v = e.to_value(false);
            assert_eq!(AuditEntry::from_value(&v).as_ref(), Some(&e));
            let text = crate::json::to_string(&v);
            let back = AuditEntry::from_value(&crate::json::parse(text.as_bytes()).unwrap());
            assert_eq!(back.as_ref(), Some(&e));
            let r = e.to_value(true);
            let m = r.as_object().unwrap();
            assert!(m.get("after_state").is_none() && m.get("extra").is_none());
            assert!(m.get("before_state").is_none());
            assert_eq!(m.get("hash").and_then(Value::as_str), Some(e.hash.as_str()));
        }
    }

    #[test]
    fn cursor_roundtrip_and_rejects_garbage() {
        for key in [
            AuditKey {
                occurred_at: Timestamp::from_secs(0),
                id: 0,
            },
            AuditKey {
                occurred_at: Timestamp {
                    secs: -5,
                    nanos: 999_999_999,
                },
                id: u64::MAX,
            },
            AuditKey {
                occurred_at: Timestamp {
                    secs: 1_767_323_045,
                    nanos: 1,
                },
                id: 42,
            },
        ] {
            let c = encode_cursor(key);
            assert_eq!(decode_cursor(&c), Some(key), "{c}");
        }
        for bad in [
            "",
            "a1.",
            "a1.zz",
            "b1.00000000000000000000000000000000000000000",
            "a1.000000000000000000000000000000000000000G",
            "a1.00000000000000003b9aca000000000000000000",
            "a1.00000000000000000000000000000000000000000",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
