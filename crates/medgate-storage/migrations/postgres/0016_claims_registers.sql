-- The claims registers formed at the node (issue 14): a register per care type (USL_OK) and
-- insurer from the accepted cases of an MO's packages of a period, its workflow history (who
-- moved it from which state to which, when, with the insurer's comment), the signers'
-- certificates registered to their logins and the three signatures of each register.
-- Logins gain the insurer's reviewer: a login belongs to an MO or (reviewer) to an SMO.
ALTER TABLE claims_users ALTER COLUMN mo_code DROP NOT NULL;
ALTER TABLE claims_users ADD COLUMN smo_code TEXT REFERENCES claims_insurers (code);
ALTER TABLE claims_users ADD CONSTRAINT claims_users_mo_or_smo
    CHECK ((mo_code IS NULL) <> (smo_code IS NULL));

-- state: draft, sent, for_rework, for_signature, signed_by_executor,
-- signed_by_chief_accountant, signed (medgate_claims::workflow::State). The register's ZIP
-- lies in DATA/claims/registers/<id>/<file_name>; sha256 is of those bytes.
CREATE TABLE claims_registers (
    id BIGSERIAL PRIMARY KEY,
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    smo_code TEXT NOT NULL,
    period TEXT NOT NULL REFERENCES claims_periods (period),
    usl_ok TEXT NOT NULL,
    number BIGINT NOT NULL,
    file_name TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    cases BIGINT NOT NULL,
    summav TEXT NOT NULL,
    state TEXT NOT NULL,
    formed_by TEXT NOT NULL,
    formed_at BIGINT NOT NULL,
    UNIQUE (mo_code, period, number)
);
CREATE INDEX claims_registers_of_smo ON claims_registers (smo_code, id);

-- Which packages' cases a register took: a package goes into the registers of one forming.
CREATE TABLE claims_register_packages (
    register_id BIGINT NOT NULL REFERENCES claims_registers (id),
    package_id BIGINT NOT NULL REFERENCES claims_packages (id),
    PRIMARY KEY (register_id, package_id)
);
CREATE INDEX claims_register_packages_by_package ON claims_register_packages (package_id);

CREATE TABLE claims_register_history (
    register_id BIGINT NOT NULL REFERENCES claims_registers (id),
    seq BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    action TEXT NOT NULL,
    role TEXT NOT NULL,
    login TEXT NOT NULL,
    comment TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (register_id, seq)
);

-- The certificate (PEM) a signing login uploaded; a new upload replaces it.
CREATE TABLE claims_certificates (
    login TEXT PRIMARY KEY NOT NULL REFERENCES claims_users (login),
    pem TEXT NOT NULL,
    subject TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- position 1 executor, 2 chief accountant, 3 head; the detached CMS (DER) lies beside the
-- register as <file_name>.<position>.sig.
CREATE TABLE claims_register_signatures (
    register_id BIGINT NOT NULL REFERENCES claims_registers (id),
    position BIGINT NOT NULL,
    login TEXT NOT NULL,
    subject TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (register_id, position)
);
