-- The change feed a fleet converges from (issue 14).
--
-- * Each pointer carries the revision of the move that set it: the id of the audit entry
--   recording the move (written in the same transaction). Revisions only grow.
-- * The tenant's changes are its audit entries whose action is a pointer move, an artifact
--   pin/unpin/release or a cache invalidation; a partial index serves "changes since".
-- * Triggers announce each change with NOTIFY on channel recsys_changes, payload
--   {"tenant", "kind", "revision"}: the pointer table for config/rules moves, the audit
--   log for artifact and cache actions (they have no pointer row). NOTIFY is delivered
--   at commit, so a listener never hears of a change it cannot read yet.

ALTER TABLE document_pointers ADD COLUMN revision bigint NOT NULL DEFAULT 0;

UPDATE document_pointers p SET revision = coalesce((
    SELECT max(a.id) FROM audit_log a
     WHERE a.tenant_id = p.tenant_id AND a.action IN (p.kind || '.update', p.kind || '.rollback')
), 0);

CREATE INDEX audit_log_changes ON audit_log (tenant_id, id)
    WHERE action IN ('config.update', 'rules.update', 'config.rollback', 'rules.rollback',
                     'cache.invalidate', 'artifacts.pin', 'artifacts.unpin', 'artifacts.release');

CREATE FUNCTION recsys_notify_pointer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revision <= coalesce(OLD.revision, -1) AND TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'pointer revision of % % must grow (% -> %)',
            NEW.tenant_id, NEW.kind, OLD.revision, NEW.revision;
    END IF;
    PERFORM pg_notify('recsys_changes', json_build_object(
        'tenant', NEW.tenant_id, 'kind', NEW.kind, 'revision', NEW.revision)::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER document_pointers_notify AFTER INSERT OR UPDATE ON document_pointers
    FOR EACH ROW EXECUTE FUNCTION recsys_notify_pointer();

CREATE FUNCTION recsys_notify_action() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('recsys_changes', json_build_object(
        'tenant', NEW.tenant_id,
        'kind', CASE WHEN NEW.action LIKE 'artifacts.%' THEN 'artifacts' ELSE 'cache' END,
        'revision', NEW.id)::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.action IN ('cache.invalidate', 'artifacts.pin', 'artifacts.unpin', 'artifacts.release'))
    EXECUTE FUNCTION recsys_notify_action();
