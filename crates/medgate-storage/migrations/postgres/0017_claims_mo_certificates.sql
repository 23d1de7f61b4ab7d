-- The certificates of the MOs' information systems on a claims node (issue 14): issued by
-- the node's CA to an MO (and, where it submits separately, one subdivision), presented
-- over mutual TLS to the node's API and the key signing its writes. Only the serial and
-- dates are kept (the key never reaches the node's store); revoked_at ends the certificate
-- from the next request on (the serial is also recorded in certificate_revocations).
CREATE TABLE claims_mo_certificates (
    serial TEXT PRIMARY KEY NOT NULL,
    mo_code TEXT NOT NULL REFERENCES claims_medical_organisations (code),
    subdivision_code TEXT,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    issued_by TEXT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);

CREATE INDEX claims_mo_certificates_mo ON claims_mo_certificates (mo_code, issued_at);
