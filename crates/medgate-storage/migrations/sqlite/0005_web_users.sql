-- Staff accounts of the web pages (SQLite flavour; the PostgreSQL file of the same name holds
-- the same tables and columns). Times are INTEGER unix seconds (UTC).

-- A tenant administrator (kind 'admin', one tenant) or an operator of the deployment (kind
-- 'operator', no tenant). Until the user activates the account with the one-time code the
-- operator was shown, password_hash is NULL and the code's Argon2id hash waits in
-- activation_code_hash. Hashes only: never a password or a code.
CREATE TABLE web_users (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('admin', 'operator')),
    tenant_id TEXT REFERENCES tenants (id),
    login TEXT NOT NULL,
    password_hash TEXT,
    activation_code_hash TEXT,
    activation_expires_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    activated_at INTEGER,
    last_signin_at INTEGER,
    disabled_at INTEGER,
    CHECK ((kind = 'admin' AND tenant_id IS NOT NULL) OR (kind = 'operator' AND tenant_id IS NULL))
);
-- A login is unique per tenant for administrators and across the deployment for operators.
CREATE UNIQUE INDEX web_users_login ON web_users (kind, COALESCE(tenant_id, ''), login);
