-- Indexes for list queries that filtered a whole tenant (issue 11): the archive search by
-- document type, and one account's certificate requests, newest first.
CREATE INDEX documents_by_type_newest_first
    ON documents (tenant_id, type_code, effective_time DESC, created_at DESC, id DESC);
CREATE INDEX certificate_requests_by_tenant
    ON certificate_requests (tenant_id, submitted_at DESC, id DESC);
