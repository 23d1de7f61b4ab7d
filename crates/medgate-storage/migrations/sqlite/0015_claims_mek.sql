-- The medico-economic control (MEK) of the packages on the claims node (issue 14): the
-- package's MEK outcome beside its FLK one, each MEK finding with the sum it withholds, and
-- the keys of the cases already paid (the key of `medgate_claims::mek::paid`:
-- LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1) with the register or file they came from.
-- Money is integer kopecks, never a float.

-- mek_state: NULL while checking or when refused whole, 'no_catalogue' when the node has no
-- MEK catalogue (Q016) installed, 'done' when MEK ran. Status 'accepted_mek': no FLK error,
-- MEK withholds cases.
ALTER TABLE claims_packages ADD COLUMN mek_state TEXT;
ALTER TABLE claims_packages ADD COLUMN mek_cases_checked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims_packages ADD COLUMN mek_cases_refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims_packages ADD COLUMN mek_findings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims_packages ADD COLUMN mek_withheld_kopecks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims_packages ADD COLUMN mek_catalogues TEXT;

-- An FLK finding's comment in Russian beside the English one (the V protocol and the Russian
-- pages read it).
ALTER TABLE claims_findings ADD COLUMN comment_ru TEXT NOT NULL DEFAULT '';

CREATE TABLE claims_mek_findings (
    package_id INTEGER NOT NULL REFERENCES claims_packages (id),
    seq INTEGER NOT NULL,
    reason_code INTEGER NOT NULL,
    reason_basis TEXT NOT NULL,
    rule_id TEXT,
    element TEXT NOT NULL,
    n_zap TEXT,
    idcase TEXT,
    sl_id TEXT,
    comment TEXT NOT NULL,
    comment_ru TEXT NOT NULL,
    withheld_kopecks INTEGER NOT NULL,
    PRIMARY KEY (package_id, seq)
);

CREATE TABLE claims_paid_cases (
    case_key TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    added_at INTEGER NOT NULL
);
