//! `serde::Serialize` for the typed requests, reports and control-plane records, in the wire
//! shape the JSON call surface uses for them (answers have their own derives in
//! [`crate::serve::answer`]). Each type already knows its JSON form; serialising goes through
//! it, so a serde user and a binding see the same members in the same order. Numbers inside
//! stored documents (an audit entry's `before_state`, say) come out as numbers in their
//! shortest form (`1.50` as `1.5`); the exact literals stay in the canonical texts.

use crate::control::{AuditEntry, AuditHead, Invalidation, Pointer, Release, StoredVersion};
use crate::engine::LoadReport;
use crate::error::{ApiError, Problem};
use crate::host::records::{pointer_record, version_record, HostStyle};
use crate::json::ser::ValueRef;
use crate::json::Value;
use crate::lint::Finding;
use crate::preview::PreviewReport;
use crate::release::ReleaseReport;
use crate::request::RecommendRequest;
use crate::sync::TenantReport;
use serde::{Serialize, Serializer};

macro_rules! serialize_as {
    ($($t:ty => |$x:ident| $value:expr;)*) => {
        $(impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $x = self;
                let v: Value = $value;
                ValueRef(&v).serialize(s)
            }
        })*
    };
}

serialize_as! {
    RecommendRequest => |r| r.to_value();
    LoadReport => |r| r.to_value();
    TenantReport => |r| r.to_value();
    Finding => |f| f.to_value();
    Problem => |p| p.to_value();
    ApiError => |e| e.to_value();
    AuditHead => |h| h.to_value();
    AuditEntry => |e| e.to_value(false);
    Release => |r| r.to_value();
    ReleaseReport => |r| r.to_value();
    PreviewReport => |r| r.to_value();
    Invalidation => |i| i.to_value();
    StoredVersion => |v| version_record(v, HostStyle::Python);
    Pointer => |p| pointer_record(p, HostStyle::Python);
}

#[cfg(test)]
mod tests {
    use crate::json::{self, to_text};
    use crate::{Context, Documents, Engine, Principal, RecommendRequest, Timestamp, User};

    /// Each record serialises to the JSON text the call surface writes for it.
    #[test]
    fn records_serialise_in_their_wire_shape() {
        let r = RecommendRequest::new("home", User::id("u1")).k(3);
        assert_eq!(to_text(&r).unwrap(), json::to_string(&r.to_value()));

        let engine = Engine::builder().build().unwrap();
        let report = engine
            .load_snapshot(
                Documents::new("demo", "home")
                    .config(r#"{"weights": {"pop": 1.50}}"#)
                    .signals(r#"{"popularity": [{"item_id": "a", "score": 2}]}"#),
            )
            .unwrap();
        assert_eq!(
            to_text(&report).unwrap(),
            json::to_string(&report.to_value())
        );

        let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
        let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
        let admin = engine.admin();
        admin
            .put_config(&ctx, r#"{"weights": {"pop": 2}}"#, None)
            .unwrap();
        let page = admin
            .audit(&ctx, &crate::control::AuditQuery::default())
            .unwrap();
        let entry = page.entries.first().expect("an entry");
        assert_eq!(
            to_text(entry).unwrap(),
            json::to_string(&entry.to_value(false))
        );
        let text = to_text(entry).unwrap();
        assert!(text.starts_with(r#"{"id":"#), "{text}");

        let err = engine
            .recommend(
                &RecommendRequest::new("nowhere", User::id("u1")),
                &Context::new(now, "x"),
            )
            .unwrap_err();
        assert_eq!(to_text(&err).unwrap(), err.to_json());
    }
}

#[cfg(test)]
mod samples;
