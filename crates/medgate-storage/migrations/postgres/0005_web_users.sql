-- Staff accounts of the web pages and self-service certificate requests (PostgreSQL flavour;
-- the SQLite file of the same name holds the same tables and columns). Times are BIGINT unix seconds (UTC).

-- A tenant administrator (kind 'admin', one tenant) or an operator of the deployment (kind
-- 'operator', no tenant). Until the user activates the account with the one-time code the
-- operator was shown, password_hash is NULL and the code's Argon2id hash waits in
-- activation_code_hash. Hashes only: never a password or a code.
CREATE TABLE web_users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('admin', 'operator')),
    tenant_id TEXT REFERENCES tenants (id),
    login TEXT NOT NULL,
    password_hash TEXT,
    activation_code_hash TEXT,
    activation_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    activated_at BIGINT,
    last_signin_at BIGINT,
    disabled_at BIGINT,
    CHECK ((kind = 'admin' AND tenant_id IS NOT NULL) OR (kind = 'operator' AND tenant_id IS NULL))
);
-- A login is unique per tenant for administrators and across the deployment for operators.
CREATE UNIQUE INDEX web_users_login ON web_users (kind, COALESCE(tenant_id, ''), login);

-- Accounts whose administrators may upload certificate requests on the account panel (the
-- operator's choice per account); no row means the clinic sends its CSRs to the operator.
CREATE TABLE csr_self_service (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    enabled_at BIGINT NOT NULL,
    enabled_by TEXT NOT NULL
);

-- Certificate requests uploaded on the account panel, waiting for the operator to issue or
-- reject them. One pending request per account and kind.
CREATE TABLE certificate_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL CHECK (kind IN ('TLS', 'WSS')),
    csr_der BYTEA NOT NULL,
    subject TEXT NOT NULL,
    key_description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'issued', 'rejected')),
    submitted_at BIGINT NOT NULL,
    submitted_by TEXT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    certificate_der BYTEA,
    serial_hex TEXT,
    reason TEXT
);
CREATE UNIQUE INDEX certificate_requests_one_pending
    ON certificate_requests (tenant_id, kind) WHERE status = 'pending';
CREATE INDEX certificate_requests_by_status ON certificate_requests (status, submitted_at);
