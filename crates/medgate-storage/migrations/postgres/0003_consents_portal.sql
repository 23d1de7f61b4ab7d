-- Consents, patient portal accounts and web sessions (PostgreSQL flavour; the SQLite file of
-- the same name holds the same tables and columns). Times are BIGINT unix seconds (UTC).

-- A consent shares documents of one patient of one tenant on the patient portal between
-- valid_from and valid_to (both inclusive), once sent and until revoked.
CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    patient_root TEXT NOT NULL,
    patient_extension TEXT NOT NULL,
    recipient TEXT NOT NULL,
    purpose TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'sent', 'revoked')),
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    revoked_at BIGINT,
    CHECK (valid_from <= valid_to)
);
CREATE INDEX consents_by_patient ON consents (tenant_id, patient_extension, patient_root);

-- The documents of a consent. The document id is kept as text so the consent still names a
-- document that was deleted; document_pk links to the stored row and becomes NULL when the
-- document is deleted, so a deleted (or deleted and uploaded again) document is never shown
-- through an old consent.
CREATE TABLE consent_documents (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    tenant_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    document_pk BIGINT REFERENCES documents (id) ON DELETE SET NULL,
    PRIMARY KEY (consent_id, document_id)
);
CREATE INDEX consent_documents_by_document ON consent_documents (tenant_id, document_id);
CREATE INDEX consent_documents_by_pk ON consent_documents (document_pk);

-- A patient's portal account, created when a consent for the patient is first sent. Until
-- the patient activates it, password_hash is NULL and the one-time activation code's Argon2id
-- hash waits in activation_code_hash.
CREATE TABLE patient_accounts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    patient_root TEXT NOT NULL,
    patient_extension TEXT NOT NULL,
    password_hash TEXT,
    activation_code_hash TEXT,
    activation_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    PRIMARY KEY (tenant_id, patient_root, patient_extension)
);

-- Failed sign-ins per identity typed, whether or not an account exists (so a lock-out says
-- nothing about existence). tenant_id is the text typed ('' where no tenant applies).
CREATE TABLE web_signin_failures (
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    locked_until BIGINT,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (kind, tenant_id, principal)
);

-- Browser sessions: the SHA-256 of the cookie's random token, never the token itself.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('patient', 'admin', 'operator')),
    tenant_id TEXT,
    principal TEXT NOT NULL,
    csrf_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
