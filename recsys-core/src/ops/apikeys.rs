//! API-key hashing and verification (service.md 6.3).
//!
//! Keys are stored as `hex(HMAC-SHA256(key = trimmed secret, message = trimmed raw key))`, or
//! `hex(SHA-256(trimmed raw key))` when the secret is empty — exactly the reference's
//! `tenant_api_keys.key_hash`, so existing rows keep working.
//!
//! **Rotation**: a verifier holds up to two active secrets, each with a key id. The first is
//! the primary: new keys are hashed with it. Lookups try every active secret
//! ([`ApiKeyVerifier::candidate_hashes`]); a key that matched through the secondary secret is
//! reported as `rotated`, telling the host to re-store it under the primary hash. Once no
//! row uses the old secret it can be dropped.
//!
//! Comparison is constant-time (XOR-accumulated over equal-length strings, every secret
//! tried even after a match), so neither timing nor the order of secrets reveals how much of
//! a hash matched.

use crate::error::{ApiError, ErrorCode};

use super::digest::{constant_time_eq, hex, hmac_sha256, sha256};

/// Errors of API-key verification and verifier set-up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("invalid api key")]
    Invalid,
    #[error("authentication required")]
    Missing,
    #[error("an api key verifier needs one or two secrets, got {0}")]
    SecretCount(usize),
    #[error("api key secret id {0:?} is used twice")]
    DuplicateKeyId(String),
}

impl ApiKeyError {
    /// The stable code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiKeyError::Invalid => ErrorCode::AuthInvalid,
            ApiKeyError::Missing => ErrorCode::AuthRequired,
            ApiKeyError::SecretCount(_) | ApiKeyError::DuplicateKeyId(_) => {
                ErrorCode::InvalidApiKeySecrets
            }
        }
    }
    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }
    pub fn status(&self) -> u16 {
        self.error_code().status()
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(e: ApiKeyError) -> ApiError {
        ApiError::new(e.error_code(), e.to_string())
    }
}

/// The stored hash of an API key (reference-compatible; see the module docs).
pub fn hash_api_key(secret: &str, key: &str) -> String {
    let secret = secret.trim();
    let key = key.trim();
    if secret.is_empty() {
        hex(&sha256(key.as_bytes()))
    } else {
        hex(&hmac_sha256(secret.as_bytes(), key.as_bytes()))
    }
}

/// A successful verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyMatch {
    /// Id of the secret whose hash matched.
    pub key_id: String,
    /// True when it was not the primary secret: re-store the key under the primary hash.
    pub rotated: bool,
}

#[derive(Clone, PartialEq, Eq)]
struct Secret {
    key_id: String,
    secret: String,
}

/// One or two active API-key secrets. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyVerifier {
    secrets: Vec<Secret>,
}

impl std::fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyVerifier")
            .field(
                "key_ids",
                &self
                    .secrets
                    .iter()
                    .map(|s| s.key_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ApiKeyVerifier {
    /// Most secrets active at once (current + previous).
    pub const MAX_SECRETS: usize = 2;

    /// `(key_id, secret)` pairs, primary first; one or two, with distinct key ids. Secrets are
    /// trimmed when used, as in the reference; an empty secret means plain SHA-256.
    pub fn new<K, S>(secrets: Vec<(K, S)>) -> Result<ApiKeyVerifier, ApiKeyError>
    where
        K: Into<String>,
        S: Into<String>,
    {
        let secrets: Vec<Secret> = secrets
            .into_iter()
            .map(|(k, s)| Secret {
                key_id: k.into(),
                secret: s.into(),
            })
            .collect();
        if secrets.is_empty() || secrets.len() > Self::MAX_SECRETS {
            return Err(ApiKeyError::SecretCount(secrets.len()));
        }
        if secrets.len() == 2 && secrets[0].key_id == secrets[1].key_id {
            return Err(ApiKeyError::DuplicateKeyId(secrets[0].key_id.clone()));
        }
        Ok(ApiKeyVerifier { secrets })
    }

    #[cfg(test)]
    /// A verifier with a single secret and an empty key id.
    pub fn single(secret: impl Into<String>) -> ApiKeyVerifier {
        ApiKeyVerifier {
            secrets: vec![Secret {
                key_id: String::new(),
                secret: secret.into(),
            }],
        }
    }

    #[cfg(test)]
    pub fn primary_key_id(&self) -> &str {
        self.secrets.first().map_or("", |s| s.key_id.as_str())
    }

    #[cfg(test)]
    pub fn key_ids(&self) -> Vec<&str> {
        self.secrets.iter().map(|s| s.key_id.as_str()).collect()
    }

    #[cfg(test)]
    /// The hash to store for a new key: `(primary key id, hash)`.
    pub fn hash(&self, raw_key: &str) -> (String, String) {
        let s = &self.secrets[0];
        (s.key_id.clone(), hash_api_key(&s.secret, raw_key))
    }

    #[cfg(test)]
    /// The hash under every active secret, primary first: what a host looks up in its key
    /// table (`WHERE key_hash IN (...)`).
    pub fn candidate_hashes(&self, raw_key: &str) -> Vec<(String, String)> {
        self.secrets
            .iter()
            .map(|s| (s.key_id.clone(), hash_api_key(&s.secret, raw_key)))
            .collect()
    }

    /// Checks a presented key against a stored hash (hex, as stored; ASCII case is ignored so
    /// upper-case hex rows still match). Blank key → [`ApiKeyError::Missing`]; no match →
    /// [`ApiKeyError::Invalid`]. Every secret is tried, whatever matched first.
    pub fn verify(&self, raw_key: &str, stored_hash: &str) -> Result<ApiKeyMatch, ApiKeyError> {
        if raw_key.trim().is_empty() {
            return Err(ApiKeyError::Missing);
        }
        let stored = stored_hash.trim().to_ascii_lowercase();
        let mut matched: Option<usize> = None;
        for (i, s) in self.secrets.iter().enumerate() {
            let h = hash_api_key(&s.secret, raw_key);
            let eq = constant_time_eq(h.as_bytes(), stored.as_bytes());
            if eq && matched.is_none() {
                matched = Some(i);
            }
        }
        match matched {
            Some(i) => Ok(ApiKeyMatch {
                key_id: self.secrets[i].key_id.clone(),
                rotated: i != 0,
            }),
            None => Err(ApiKeyError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(
            hash_api_key("pepper", "secret"),
            "804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"
        );
        assert_eq!(
            hash_api_key(" pepper ", " secret\n"),
            "804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"
        );
        assert_eq!(
            hash_api_key("", "secret"),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
        );
    }
}
