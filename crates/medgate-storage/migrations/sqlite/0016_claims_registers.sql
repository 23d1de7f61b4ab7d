-- The claims registers formed at the node (issue 14): a register per care type (USL_OK) and
-- insurer from the accepted cases of an MO's packages of a period, its workflow history (who
-- moved it from which state to which, when, with the insurer's comment), the signers'
-- certificates registered to their logins and the three signatures of each register.
-- Logins gain the insurer's reviewer: a login belongs to an MO or (reviewer) to an SMO.
CREATE TABLE claims_users_0016 (
    login TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    mo_code TEXT REFERENCES claims_medical_organisations (code),
    smo_code TEXT REFERENCES claims_insurers (code),
    subdivision_code TEXT,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    link_hash TEXT UNIQUE,
    link_expires_at INTEGER,
    link_opened_at INTEGER,
    created_at INTEGER NOT NULL,
    CHECK ((mo_code IS NULL) <> (smo_code IS NULL))
);
INSERT INTO claims_users_0016 (login, role, mo_code, smo_code, subdivision_code, name,
    password_hash, must_change_password, link_hash, link_expires_at, link_opened_at, created_at)
SELECT login, role, mo_code, NULL, subdivision_code, name, password_hash,
    must_change_password, link_hash, link_expires_at, link_opened_at, created_at
FROM claims_users;
DROP TABLE claims_users;
ALTER TABLE claims_users_0016 RENAME TO claims_users;

-- state: draft, sent, for_rework, for_signature, signed_by_executor,
-- signed_by_chief_accountant, signed (medgate_claims::workflow::State). The register's ZIP
-- lies in DATA/claims/registers/<id>/<file_name>; sha256 is of those bytes.
CREATE TABLE claims_registers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    smo_code TEXT NOT NULL,
    period TEXT NOT NULL REFERENCES claims_periods (period),
    usl_ok TEXT NOT NULL,
    number INTEGER NOT NULL,
    file_name TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    summav TEXT NOT NULL,
    state TEXT NOT NULL,
    formed_by TEXT NOT NULL,
    formed_at INTEGER NOT NULL,
    UNIQUE (mo_code, period, number)
);
CREATE INDEX claims_registers_of_smo ON claims_registers (smo_code, id);

-- Which packages' cases a register took: a package goes into the registers of one forming.
CREATE TABLE claims_register_packages (
    register_id INTEGER NOT NULL REFERENCES claims_registers (id),
    package_id INTEGER NOT NULL REFERENCES claims_packages (id),
    PRIMARY KEY (register_id, package_id)
);
CREATE INDEX claims_register_packages_by_package ON claims_register_packages (package_id);

CREATE TABLE claims_register_history (
    register_id INTEGER NOT NULL REFERENCES claims_registers (id),
    seq INTEGER NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    action TEXT NOT NULL,
    role TEXT NOT NULL,
    login TEXT NOT NULL,
    comment TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (register_id, seq)
);

-- The certificate (PEM) a signing login uploaded; a new upload replaces it.
CREATE TABLE claims_certificates (
    login TEXT PRIMARY KEY NOT NULL REFERENCES claims_users (login),
    pem TEXT NOT NULL,
    subject TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    not_after INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL
);

-- position 1 executor, 2 chief accountant, 3 head; the detached CMS (DER) lies beside the
-- register as <file_name>.<position>.sig.
CREATE TABLE claims_register_signatures (
    register_id INTEGER NOT NULL REFERENCES claims_registers (id),
    position INTEGER NOT NULL,
    login TEXT NOT NULL,
    subject TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    PRIMARY KEY (register_id, position)
);
