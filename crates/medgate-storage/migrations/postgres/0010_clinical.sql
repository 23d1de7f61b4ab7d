-- The national clinical record service (issue 13; PostgreSQL flavour, the SQLite file of the
-- same name holds the same tables and columns). Times are unix seconds (UTC), booleans 0/1.

-- Institutions (6-digit ids) and their units (9-digit ids).
CREATE TABLE clinical_institutions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    connection_verified_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE clinical_units (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES clinical_institutions (id),
    name TEXT NOT NULL
);
CREATE INDEX clinical_units_by_institution ON clinical_units (institution_id, id);

-- Practitioners: the EESZT user name, the Argon2id hash of the password, the TOTP secret
-- (base32) and the last TOTP time step used, so a code is accepted once.
CREATE TABLE clinical_practitioners (
    user_name TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    stamp_number TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    last_totp_step BIGINT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

-- The authorisation matrix: which user acts for which institution, in which unit ('' for
-- every unit of the institution), in which role.
CREATE TABLE clinical_authorisations (
    user_name TEXT NOT NULL REFERENCES clinical_practitioners (user_name),
    institution_id TEXT NOT NULL REFERENCES clinical_institutions (id),
    unit_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user_name, institution_id, unit_id, role)
);

-- Certificates issued to institutions (upper-hex serial).
CREATE TABLE clinical_institution_certificates (
    serial TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES clinical_institutions (id),
    not_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX clinical_certificates_by_institution
    ON clinical_institution_certificates (institution_id, not_after DESC);

-- Practitioner sessions: the SHA-256 of the token, never the token.
CREATE TABLE clinical_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES clinical_practitioners (user_name),
    institution_id TEXT NOT NULL REFERENCES clinical_institutions (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX clinical_sessions_by_expiry ON clinical_sessions (expires_at);

-- One row per FHIR resource: its current version, the patient, the institution that created
-- it (the only one that may delete it), a status the service acts on (a ServiceRequest's
-- issued/consumed/cancelled/expired, a Consent's active/inactive), a Consent's restriction
-- and the deleted flag.
CREATE TABLE clinical_resources (
    resource_type TEXT NOT NULL,
    logical_id TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    patient_taj TEXT NOT NULL,
    created_by TEXT NOT NULL,
    status TEXT,
    restriction_scope TEXT,
    restriction_target TEXT,
    deleted BIGINT NOT NULL DEFAULT 0,
    last_updated BIGINT NOT NULL,
    PRIMARY KEY (resource_type, logical_id)
);
CREATE INDEX clinical_resources_by_patient
    ON clinical_resources (patient_taj, resource_type, last_updated DESC, logical_id);

-- Every version of every resource, for reads of a version and `_history`.
CREATE TABLE clinical_resource_versions (
    resource_type TEXT NOT NULL,
    logical_id TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    patient_taj TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    resource TEXT NOT NULL,
    PRIMARY KEY (resource_type, logical_id, version_id),
    FOREIGN KEY (resource_type, logical_id) REFERENCES clinical_resources (resource_type, logical_id)
);

-- Who read or changed what of a patient, for which institution, and every break-glass
-- with its reason: what the patient's access log shows.
CREATE TABLE clinical_access_log (
    id BIGSERIAL PRIMARY KEY,
    patient_taj TEXT NOT NULL,
    at BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    break_glass_reason TEXT
);
CREATE INDEX clinical_access_log_by_patient ON clinical_access_log (patient_taj, at DESC, id DESC);
