-- medgate metadata schema, PostgreSQL flavour. The SQLite file of the same name holds the same
-- tables with the same column names; only the types differ (BIGINT/BYTEA here, INTEGER/BLOB
-- there). Timestamps are BIGINT unix seconds (UTC); booleans are integers 0/1 in both, so one
-- set of queries reads both databases the same way.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    status TEXT NOT NULL CHECK (status IN ('created', 'active', 'suspended')),
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    quota_bytes BIGINT NOT NULL CHECK (quota_bytes >= 0),
    max_files BIGINT NOT NULL CHECK (max_files >= 0),
    -- Usage counters, changed in the same transaction as every document insert and delete.
    used_bytes BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    file_count BIGINT NOT NULL DEFAULT 0 CHECK (file_count >= 0),
    provider_oid TEXT,
    domain_id TEXT UNIQUE,
    repository_id TEXT UNIQUE,
    national_repository_id TEXT,
    created_at BIGINT NOT NULL
);

-- Counters for the last arc handed out under the operator's domain and repository roots.
CREATE TABLE oid_arc_counters (
    name TEXT PRIMARY KEY NOT NULL,
    last_value BIGINT NOT NULL
);
INSERT INTO oid_arc_counters (name, last_value) VALUES ('domain', 0), ('repository', 0);

CREATE TABLE tenant_certificates (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL CHECK (kind IN ('TLS', 'WSS')),
    serial_hex TEXT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL UNIQUE,
    der BYTEA NOT NULL,
    subject TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'replaced')),
    registered_at BIGINT NOT NULL,
    replaced_at BIGINT
);
CREATE UNIQUE INDEX tenant_certificates_one_active
    ON tenant_certificates (tenant_id, kind) WHERE status = 'active';

CREATE TABLE documents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    document_id TEXT NOT NULL,
    set_id TEXT,
    version BIGINT,
    kind TEXT NOT NULL CHECK (kind IN ('cda', 'attachment')),
    type_code TEXT,
    type_system TEXT,
    type_display TEXT,
    class_code TEXT,
    title TEXT,
    -- Lower-cased (Unicode, in Rust) copies for case-insensitive substring search.
    title_search TEXT NOT NULL,
    effective_time BIGINT NOT NULL,
    confidentiality TEXT,
    language TEXT,
    patient_id_root TEXT NOT NULL,
    patient_id_extension TEXT NOT NULL,
    patient_name TEXT,
    patient_birth_date TEXT,
    patient_gender TEXT,
    author_name TEXT,
    author_id TEXT,
    author_search TEXT NOT NULL,
    organisation TEXT,
    custodian TEXT,
    legal_authenticator TEXT,
    service_event_json TEXT,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
    sha256 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    content_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    indexed_at BIGINT,
    UNIQUE (tenant_id, document_id)
);
CREATE UNIQUE INDEX documents_set_version
    ON documents (tenant_id, set_id, version) WHERE set_id IS NOT NULL AND version IS NOT NULL;
CREATE INDEX documents_newest_first
    ON documents (tenant_id, effective_time DESC, created_at DESC, id DESC);

-- Every patient identifier of a document (the main one included), for search.
CREATE TABLE document_patient_ids (
    document_pk BIGINT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    root TEXT NOT NULL,
    extension TEXT NOT NULL,
    PRIMARY KEY (document_pk, root, extension)
);
CREATE INDEX document_patient_ids_lookup ON document_patient_ids (tenant_id, extension, root);

CREATE TABLE organisation_structures (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    revision BIGINT NOT NULL,
    body_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE document_type_policies (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    archive_automatically BIGINT NOT NULL CHECK (archive_automatically IN (0, 1)),
    keep_local_days BIGINT NOT NULL CHECK (keep_local_days >= 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

-- The audit log: one hash chain per deployment. No foreign key to tenants, so entries outlive
-- whatever they describe.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    tenant_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    origin TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, seq DESC);

-- The head of the chain: locked by every append so that appends are serialised, and compared
-- with the last entry by verification so that a truncated tail is noticed.
CREATE TABLE audit_chain_head (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_seq, last_hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE signature_replay_guard (
    key_id TEXT NOT NULL,
    signature_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, signature_hash)
);
CREATE INDEX signature_replay_guard_expiry ON signature_replay_guard (expires_at);
