-- The sort keys of a search by patient beside the patient's identifier rows (issue 11): a
-- page of a patient's documents, newest first, is read in index order and stops at its
-- limit, and the count reads the index alone, however many documents the patient has.
-- Documents never change their effective time or creation time, so the copies stay true.
ALTER TABLE document_patient_ids ADD COLUMN effective_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE document_patient_ids ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
UPDATE document_patient_ids SET
    effective_time = (SELECT d.effective_time FROM documents d WHERE d.id = document_pk),
    created_at = (SELECT d.created_at FROM documents d WHERE d.id = document_pk);
DROP INDEX document_patient_ids_lookup;
CREATE INDEX document_patient_ids_newest_first ON document_patient_ids
    (tenant_id, extension, effective_time DESC, created_at DESC, document_pk DESC, root);
