-- The national registry and the repository's side of it, PostgreSQL flavour (the SQLite file
-- of the same name has the same tables and columns).

-- Registry role: repositories registered in the national domain, one per provider (the tenant
-- id in the CN of its national certificates). A provider that registers again keeps its id.
CREATE TABLE registry_repositories (
    provider TEXT PRIMARY KEY NOT NULL CHECK (length(provider) = 16),
    national_repository_id TEXT NOT NULL UNIQUE,
    name TEXT,
    repository_url TEXT NOT NULL,
    tls_serial TEXT NOT NULL,
    tls_fingerprint_sha256 TEXT NOT NULL,
    wss_serial TEXT NOT NULL,
    wss_certificate_pem TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('registered', 'deregistered')),
    registered_at BIGINT NOT NULL,
    deregistered_at BIGINT
);
INSERT INTO oid_arc_counters (name, last_value) VALUES ('national_repository', 0);

-- Registry role: the XDS DocumentEntry metadata a registered repository indexed.
CREATE TABLE registry_entries (
    unique_id TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL REFERENCES registry_repositories (provider),
    patient_root TEXT NOT NULL,
    patient_extension TEXT NOT NULL,
    class_code TEXT,
    type_code TEXT,
    type_system TEXT,
    type_display TEXT,
    creation_time BIGINT NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
    author TEXT,
    title TEXT,
    confidentiality TEXT,
    mime_type TEXT NOT NULL,
    submitted_at BIGINT NOT NULL
);
CREATE INDEX registry_entries_by_patient ON registry_entries (patient_extension, patient_root);
CREATE INDEX registry_entries_by_provider ON registry_entries (provider);

-- Repository role: the national certificates a tenant uploaded. The private keys are PEM
-- `ENCRYPTED PRIVATE KEY` (PKCS#8 PBES2) under the node's credentials key, never in clear.
CREATE TABLE national_credentials (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    national_repository_id TEXT NOT NULL,
    registry_url TEXT NOT NULL,
    tls_certificate_pem TEXT NOT NULL,
    tls_key_pem TEXT NOT NULL,
    tls_serial TEXT NOT NULL,
    wss_certificate_pem TEXT NOT NULL,
    wss_key_pem TEXT NOT NULL,
    wss_serial TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    registered_at BIGINT NOT NULL
);
