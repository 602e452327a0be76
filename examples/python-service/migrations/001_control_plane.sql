-- Control plane of recsys-core in PostgreSQL: immutable document versions, one current
-- pointer per (tenant, kind), and a hash-chained, append-only audit log.
--
-- Timestamps are kept as the core's RFC 3339 text (nanosecond precision, which timestamptz
-- would round) plus, for the audit log, Unix seconds and nanoseconds for ordering.

CREATE TABLE document_versions (
    tenant_id      text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('config', 'rules')),
    etag           text        NOT NULL CHECK (etag ~ '^[0-9a-f]{64}$'),
    canonical_text text        NOT NULL,
    document       text        NOT NULL,   -- as first written: number literals kept
    created_at     text        NOT NULL,
    created_by     text        NOT NULL,
    comment        text,
    seq            bigserial   NOT NULL,   -- insertion order for listings
    PRIMARY KEY (tenant_id, kind, etag)
);

CREATE TABLE document_pointers (
    tenant_id  text NOT NULL,
    kind       text NOT NULL,
    etag       text NOT NULL,
    previous   text,
    updated_at text NOT NULL,
    updated_by text NOT NULL,
    PRIMARY KEY (tenant_id, kind),
    FOREIGN KEY (tenant_id, kind, etag) REFERENCES document_versions (tenant_id, kind, etag)
);

CREATE SEQUENCE audit_log_id_seq;

CREATE TABLE audit_log (
    id               bigint  PRIMARY KEY,
    tenant_id        text    NOT NULL,
    occurred_seconds bigint  NOT NULL,
    occurred_nanos   integer NOT NULL,
    action           text    NOT NULL,
    hash             text    NOT NULL,
    entry            jsonb   NOT NULL       -- the sealed entry; states are JSON text inside it
);

CREATE INDEX audit_log_listing ON audit_log (tenant_id, occurred_seconds DESC, occurred_nanos DESC, id DESC);
CREATE INDEX audit_log_chain ON audit_log (tenant_id, id);

-- The head of each tenant's chain. Appends lock this row, so a tenant's entries are
-- chained one at a time while other tenants append in parallel.
CREATE TABLE audit_heads (
    tenant_id text   PRIMARY KEY,
    last_id   bigint NOT NULL,
    hash      text
);

CREATE FUNCTION recsys_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION recsys_reject_change();
CREATE TRIGGER document_versions_immutable BEFORE UPDATE OR DELETE ON document_versions
    FOR EACH ROW EXECUTE FUNCTION recsys_reject_change();
