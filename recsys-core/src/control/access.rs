//! Access control: the [`Principal`] the host's auth adapter supplies and the
//! [`AccessPolicy`] that maps its roles to read and write access.
//!
//! Every control-plane operation is scoped to one tenant. A principal may act only on its
//! own tenant (exact, case-sensitive comparison), whatever its roles: the reference service
//! let a principal of tenant A read and change tenant B by putting B in the URL; here that
//! is `RECSYS_FORBIDDEN`. RBAC is always on (the reference disabled it when all three role
//! names were configured empty).

use super::audit::Actor;
use super::error::ControlError;
use crate::json::Value;

/// An authenticated caller, as the host's auth adapter resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// User id, `api-key:<id>`, service name... Empty means "system".
    pub subject: String,
    /// The tenant the caller is scoped to.
    pub tenant: String,
    /// Roles the caller holds (`viewer`, `editor`, `admin`, ...).
    pub roles: Vec<String>,
    /// `user` (default), `api_key`, `service`, `system`...
    pub actor_type: String,
}

impl Principal {
    /// A principal with a subject (the caller's id) and roles.
    pub fn new<R: Into<String>>(
        subject: impl Into<String>,
        tenant: impl Into<String>,
        roles: impl IntoIterator<Item = R>,
    ) -> Principal {
        Principal {
            subject: subject.into(),
            tenant: tenant.into(),
            roles: roles.into_iter().map(Into::into).collect(),
            actor_type: "user".into(),
        }
    }

    /// The same principal with another actor type (`user` unless set).
    pub fn with_type(mut self, actor_type: impl Into<String>) -> Principal {
        self.actor_type = actor_type.into();
        self
    }

    /// Decodes `{"subject", "tenant", "roles", "type"?}` (other members, such as a call
    /// context's `now` or `request_id`, are ignored). `roles` is an array of strings or one
    /// string of roles separated by whitespace or commas; missing members are empty.
    pub fn from_value(v: &Value) -> Result<Principal, ControlError> {
        let m = v
            .as_object()
            .ok_or_else(|| ControlError::invalid_request("principal must be a json object"))?;
        let string = |k: &str| -> Result<String, ControlError> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(ControlError::invalid_request(format!(
                    "principal.{k} must be a string, got {}",
                    other.type_name()
                ))),
            }
        };
        let roles = match m.get("roles") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|r| {
                    r.as_str().map(str::to_owned).ok_or_else(|| {
                        ControlError::invalid_request("principal.roles must hold strings")
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(ControlError::invalid_request(format!(
                    "principal.roles must be an array of strings, got {}",
                    other.type_name()
                )))
            }
        };
        let actor_type = string("type")?;
        Ok(Principal {
            subject: string("subject")?,
            tenant: string("tenant")?,
            roles,
            actor_type: if actor_type.trim().is_empty() {
                "user".into()
            } else {
                actor_type.trim().to_owned()
            },
        })
    }

    /// The actor written into audit entries: an empty subject is recorded as
    /// `system`/`system`, as the reference does. NUL characters are replaced.
    pub fn actor(&self) -> Actor {
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Actor {
                subject: "system".into(),
                actor_type: "system".into(),
            };
        }
        Actor {
            subject: clean(subject),
            actor_type: clean(&self.actor_type),
        }
    }
}

pub(crate) fn clean(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

/// The kind of access an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Get documents, list versions, list and verify the audit log.
    Read,
    /// Put documents, roll back, invalidate caches.
    Write,
}

/// The strongest level a principal's roles grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Viewer,
    Operator,
    Admin,
}

/// Role names per level, compared case-insensitively after trimming. Viewers read;
/// operators and admins read and write and see audit details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    pub viewer_roles: Vec<String>,
    pub operator_roles: Vec<String>,
    pub admin_roles: Vec<String>,
}

impl Default for AccessPolicy {
    fn default() -> AccessPolicy {
        AccessPolicy {
            viewer_roles: vec!["viewer".into()],
            operator_roles: vec!["operator".into()],
            admin_roles: vec!["admin".into()],
        }
    }
}

fn has_role(principal: &Principal, names: &[String]) -> bool {
    principal.roles.iter().any(|r| {
        let r = r.trim();
        !r.is_empty() && names.iter().any(|n| n.trim().eq_ignore_ascii_case(r))
    })
}

impl AccessPolicy {
    #[cfg(test)]
    pub fn new(viewer: &[&str], operator: &[&str], admin: &[&str]) -> AccessPolicy {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        AccessPolicy {
            viewer_roles: own(viewer),
            operator_roles: own(operator),
            admin_roles: own(admin),
        }
    }

    /// The strongest level the principal's roles grant, if any.
    pub fn level(&self, principal: &Principal) -> Option<Level> {
        if has_role(principal, &self.admin_roles) {
            Some(Level::Admin)
        } else if has_role(principal, &self.operator_roles) {
            Some(Level::Operator)
        } else if has_role(principal, &self.viewer_roles) {
            Some(Level::Viewer)
        } else {
            None
        }
    }

    /// Whether the roles allow `access` (ignoring the tenant).
    pub fn allows(&self, principal: &Principal, access: Access) -> bool {
        match (self.level(principal), access) {
            (None, _) => false,
            (Some(_), Access::Read) => true,
            (Some(l), Access::Write) => l >= Level::Operator,
        }
    }

    /// Whether audit listings show `before_state`, `after_state` and `extra`.
    pub fn sees_audit_details(&self, principal: &Principal) -> bool {
        matches!(self.level(principal), Some(l) if l >= Level::Operator)
    }

    /// Checks that `tenant` is a valid tenant id, that the principal is scoped to it, and
    /// that its roles allow `access`, in that order.
    pub fn authorize(
        &self,
        principal: &Principal,
        tenant: &str,
        access: Access,
    ) -> Result<(), ControlError> {
        if !valid_tenant(tenant) {
            return Err(ControlError::InvalidTenant {
                tenant: tenant.to_owned(),
            });
        }
        if principal.tenant != tenant {
            return Err(ControlError::Forbidden {
                message: "tenant scope mismatch".into(),
            });
        }
        if !self.allows(principal, access) {
            return Err(ControlError::Forbidden {
                message: "insufficient scope".into(),
            });
        }
        Ok(())
    }
}

/// A tenant id: path-safe (non-empty, not `.`/`..`, no `/`, `\` or control characters) and
/// without surrounding whitespace.
pub fn valid_tenant(tenant: &str) -> bool {
    tenant.trim() == tenant && crate::request::is_path_safe(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_access() {
        let p = AccessPolicy::default();
        let who = |roles: &[&str]| Principal::new("u", "t", roles.iter().copied());
        assert_eq!(p.level(&who(&[])), None);
        assert_eq!(p.level(&who(&["VIEWER"])), Some(Level::Viewer));
        assert_eq!(p.level(&who(&[" Operator "])), Some(Level::Operator));
        assert_eq!(p.level(&who(&["viewer", "admin"])), Some(Level::Admin));
        assert!(!p.allows(&who(&["viewer"]), Access::Write));
        assert!(p.allows(&who(&["viewer"]), Access::Read));
        assert!(p.allows(&who(&["operator"]), Access::Write));
        assert!(!p.allows(&who(&["guest"]), Access::Read));
        assert!(!p.sees_audit_details(&who(&["viewer"])));
        assert!(p.sees_audit_details(&who(&["admin"])));
        let custom = AccessPolicy::new(&["reader"], &["sre", "oncall"], &[]);
        assert!(custom.allows(&who(&["OnCall"]), Access::Write));
        assert!(!custom.allows(&who(&["admin"]), Access::Read));
        assert!(!custom.allows(&who(&[""]), Access::Read));
    }

    #[test]
    fn authorize_order() {
        let p = AccessPolicy::default();
        let alice = Principal::new("alice", "t1", ["admin"]);
        assert!(p.authorize(&alice, "t1", Access::Write).is_ok());
        assert_eq!(
            p.authorize(&alice, "t2", Access::Read).unwrap_err().code(),
            "RECSYS_FORBIDDEN"
        );
        for bad in ["", " t1", "..", "a/b", "a\u{7}"] {
            assert_eq!(
                p.authorize(&alice, bad, Access::Read).unwrap_err().code(),
                "RECSYS_INVALID_TENANT",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn principal_from_value() {
        let v = crate::json::parse(
            br#"{"subject":"bob","tenant":"t1","roles":"viewer, operator","now":"x"}"#,
        )
        .unwrap();
        let p = Principal::from_value(&v).unwrap();
        assert_eq!(p.roles, vec!["viewer", "operator"]);
        assert_eq!(p.actor_type, "user");
        let v =
            crate::json::parse(br#"{"tenant":"t1","roles":["admin"],"type":"api_key"}"#).unwrap();
        let p = Principal::from_value(&v).unwrap();
        assert_eq!(p.actor().subject, "system");
        assert_eq!(p.actor_type, "api_key");
        for bad in [
            r#"[]"#,
            r#"{"roles":5}"#,
            r#"{"roles":[1]}"#,
            r#"{"tenant":1}"#,
        ] {
            let v = crate::json::parse(bad.as_bytes()).unwrap();
            assert_eq!(
                Principal::from_value(&v).unwrap_err().code(),
                "RECSYS_INVALID_REQUEST",
                "{bad}"
            );
        }
    }
}
