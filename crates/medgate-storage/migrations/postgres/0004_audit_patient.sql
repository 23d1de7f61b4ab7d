-- The patient an audited action concerns (the identifier value, e.g. the PESEL, without its
-- assigning authority), so a patient's access log can be listed. NULL for actions that concern
-- no single patient. Covered by the entry's hash (encoding v2, see metadata/audit.rs).
ALTER TABLE audit_log ADD COLUMN patient TEXT;
CREATE INDEX audit_log_by_patient ON audit_log (tenant_id, patient, seq);
