-- Certificate revocations every node of a deployment enforces, PostgreSQL flavour (the SQLite
-- file of the same name has the same tables and columns).

-- One row per revoked certificate of this deployment's CA, by its serial (upper-case hex, no
-- separators). Rows are never removed; the pair (number of rows, highest seq) changes with
-- every new revocation, which is how a node notices it cheaply.
CREATE TABLE certificate_revocations (
    seq BIGSERIAL PRIMARY KEY,
    serial_hex TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- What each running node has applied: the highest revocation seq it enforces and when it last
-- said so, so that `medgate ca revoke` can report that a revocation took effect.
CREATE TABLE node_revocation_status (
    node_id TEXT PRIMARY KEY NOT NULL,
    applied_seq BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
