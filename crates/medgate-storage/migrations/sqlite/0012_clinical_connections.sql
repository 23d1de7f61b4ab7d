-- The clinic's side of the clinical record service (issue 13), on a repository node: each
-- account's connection to the service (one institution per account) and its practitioners,
-- and the practitioners' desk sessions holding the service's session token until the
-- service's own expiry (7 hours). The institution's certificate and key and the service CA
-- are kept as one PKCS#12 keystore (PEM `PKCS12`) encrypted under the node's credentials
-- key, as the national keys are. (The tables are `clinic_*`: `clinical_*` are the service's.)
CREATE TABLE clinic_connections (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    service_url TEXT NOT NULL,
    service_ca_pem TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    institution_name TEXT NOT NULL,
    keystore_pem TEXT NOT NULL,
    serial TEXT NOT NULL,
    not_after INTEGER NOT NULL,
    units TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
CREATE TABLE clinic_practitioners (
    tenant_id TEXT NOT NULL REFERENCES clinic_connections (tenant_id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    name TEXT NOT NULL,
    stamp_number TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_name)
);
CREATE TABLE clinic_desk_sessions (
    session_hash TEXT PRIMARY KEY NOT NULL REFERENCES web_sessions (token_hash) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_name TEXT NOT NULL,
    service_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX clinic_desk_sessions_expiry ON clinic_desk_sessions (expires_at);
