-- The patients' accounts of the clinical record service's portal (issue 13, item 6): one
-- per TAJ, created by the service's operator with a one-time activation code the patient
-- spends to set their password. Argon2id hashes only; the code and the password are never
-- stored.
CREATE TABLE clinical_patient_accounts (
    taj TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT,
    activation_code_hash TEXT,
    activation_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    activated_at BIGINT
);
