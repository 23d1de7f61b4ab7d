-- A session's kind names the desk of the pages it belongs to. It was a closed list ('patient',
-- 'admin', 'operator'); it is now any desk's name (1 to 32 of a-z, 0-9 and '-', beginning with
-- a letter), so that a new desk needs no schema change. SQLite cannot drop a CHECK, so the
-- table is rebuilt with its rows (the PostgreSQL file of the same name drops the constraint).
CREATE TABLE web_sessions_new (
    token_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 32 AND kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z0-9-]*'),
    tenant_id TEXT,
    principal TEXT NOT NULL,
    csrf_secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
INSERT INTO web_sessions_new (token_hash, kind, tenant_id, principal, csrf_secret, created_at, expires_at, last_seen_at)
    SELECT token_hash, kind, tenant_id, principal, csrf_secret, created_at, expires_at, last_seen_at FROM web_sessions;
DROP TABLE web_sessions;
ALTER TABLE web_sessions_new RENAME TO web_sessions;
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
