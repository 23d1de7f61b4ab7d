-- The claims registers' server role (issue 14, `--role claims`): the territorial fund's
-- medical organisations (MO, 6 digits) with the subdivisions that submit separately, the
-- insurers (SMO, 5 digits), the reporting periods, the logins of the MOs' staff and the
-- packages uploaded with their FLK findings. Hashes only: a login's password and its
-- one-time link are never stored.
CREATE TABLE claims_medical_organisations (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE claims_subdivisions (
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (mo_code, code)
);

CREATE TABLE claims_insurers (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A period is YYYY-MM; packages are taken only for an open one.
CREATE TABLE claims_periods (
    period TEXT PRIMARY KEY NOT NULL,
    is_open INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER
);

-- role: executor (<MO>_1, one per subdivision that submits separately), chief_accountant
-- (<MO>_2), head (<MO>_3). The one-time link is kept as its SHA-256; it opens once
-- (link_opened_at set in the same UPDATE that finds it).
CREATE TABLE claims_users (
    login TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    subdivision_code TEXT,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    link_hash TEXT UNIQUE,
    link_expires_at INTEGER,
    link_opened_at INTEGER,
    created_at INTEGER NOT NULL
);

-- status: checking, accepted, flk_errors, refused (refusal_code 801–805 and its sentence).
-- progress is per mille of the control done.
CREATE TABLE claims_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    period TEXT NOT NULL REFERENCES claims_periods (period),
    subdivision_code TEXT,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    patients INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    refusal_code INTEGER,
    refusal_comment TEXT,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    checked_at INTEGER
);
CREATE INDEX claims_packages_of_mo ON claims_packages (mo_code, id);
CREATE INDEX claims_packages_by_name ON claims_packages (file_name, status);
CREATE INDEX claims_packages_by_sha256 ON claims_packages (sha256, status);

CREATE TABLE claims_findings (
    package_id INTEGER NOT NULL REFERENCES claims_packages (id),
    seq INTEGER NOT NULL,
    code INTEGER NOT NULL,
    rule_id TEXT,
    file TEXT NOT NULL,
    im_pol TEXT NOT NULL,
    bas_el TEXT NOT NULL,
    n_zap TEXT,
    idcase TEXT,
    sl_id TEXT,
    idserv TEXT,
    comment TEXT NOT NULL,
    PRIMARY KEY (package_id, seq)
);
