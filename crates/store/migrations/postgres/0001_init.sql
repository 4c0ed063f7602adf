-- Switchyard schema v1 (PostgreSQL). Forward-only: never edit once released; add a new file.
-- Timestamps are Unix milliseconds, money is integer micro-dollars, JSON is JSONB.
-- Objects are created in the first schema of the connection's search_path.

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    limits      JSONB,
    budget      JSONB,
    metadata    JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE virtual_keys (
    id               TEXT PRIMARY KEY,
    name             TEXT,
    key_hash         TEXT NOT NULL UNIQUE,
    key_prefix       TEXT NOT NULL,
    team_id          TEXT REFERENCES teams (id),
    user_id          TEXT,
    models           JSONB NOT NULL DEFAULT '[]'::jsonb,
    expires_at       BIGINT,
    limits           JSONB,
    budget           JSONB,
    metadata         JSONB NOT NULL DEFAULT '{}'::jsonb,
    role             TEXT NOT NULL DEFAULT 'user'
                     CHECK (role IN ('user', 'team_admin', 'read_only')),
    capture_payloads BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    revoked_at       BIGINT,
    CHECK (role <> 'team_admin' OR team_id IS NOT NULL)
);
CREATE INDEX virtual_keys_team ON virtual_keys (team_id, created_at);

CREATE TABLE spend_ledger (
    request_id       TEXT PRIMARY KEY,
    ts               BIGINT NOT NULL,
    key_id           TEXT,
    team_id          TEXT,
    user_id          TEXT,
    end_user         TEXT,
    model            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    upstream_model   TEXT NOT NULL,
    tags             JSONB NOT NULL DEFAULT '[]'::jsonb,
    input_tokens     BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    cached_tokens    BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_micros      BIGINT NOT NULL
);
CREATE INDEX spend_ledger_ts ON spend_ledger (ts);
CREATE INDEX spend_ledger_key ON spend_ledger (key_id, ts);
CREATE INDEX spend_ledger_team ON spend_ledger (team_id, ts);
CREATE INDEX spend_ledger_user ON spend_ledger (user_id, ts);
CREATE INDEX spend_ledger_end_user ON spend_ledger (end_user, ts);

CREATE TABLE request_log (
    request_id      TEXT PRIMARY KEY,
    ts              BIGINT NOT NULL,
    key_id          TEXT,
    team_id         TEXT,
    user_id         TEXT,
    model_requested TEXT NOT NULL,
    model_served    TEXT,
    provider        TEXT,
    attempts        INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    error_class     TEXT,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    cost_micros     BIGINT NOT NULL,
    latency_ms      BIGINT NOT NULL,
    ttft_ms         BIGINT,
    cache_status    TEXT NOT NULL,
    stream          BOOLEAN NOT NULL,
    request_body    TEXT,
    response_body   TEXT,
    tags            JSONB NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX request_log_ts ON request_log (ts, request_id);
CREATE INDEX request_log_key ON request_log (key_id, ts);
CREATE INDEX request_log_team ON request_log (team_id, ts);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    ts          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    before      JSONB,
    after       JSONB
);
CREATE INDEX audit_log_ts ON audit_log (ts, id);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, ts);

-- The audit log is append-only, also for anyone holding a SQL shell.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
