-- Releases (issue 20) are changes: `release.publish` and `release.rollback` entries join the
-- change feed's partial index, and their insert is announced like an artifact action (kind
-- "artifacts": a listener then follows the feed, which carries the release's pin changes).
-- The pointers a release moves or guards announce themselves through the pointer trigger as
-- before (kind "config"/"rules": the listener installs both documents in one commit).

DROP INDEX audit_log_changes;
CREATE INDEX audit_log_changes ON audit_log (tenant_id, id)
    WHERE action IN ('config.update', 'rules.update', 'config.rollback', 'rules.rollback',
                     'cache.invalidate', 'artifacts.pin', 'artifacts.unpin', 'artifacts.release',
                     'release.publish', 'release.rollback');

CREATE OR REPLACE FUNCTION recsys_notify_action() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('recsys_changes', json_build_object(
        'tenant', NEW.tenant_id,
        'kind', CASE WHEN NEW.action LIKE 'artifacts.%' OR NEW.action LIKE 'release.%'
                     THEN 'artifacts' ELSE 'cache' END,
        'revision', NEW.id)::text);
    RETURN NEW;
END
$$;

DROP TRIGGER audit_log_notify ON audit_log;
CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.action IN ('cache.invalidate', 'artifacts.pin', 'artifacts.unpin',
                                      'artifacts.release', 'release.publish', 'release.rollback'))
    EXECUTE FUNCTION recsys_notify_action();
