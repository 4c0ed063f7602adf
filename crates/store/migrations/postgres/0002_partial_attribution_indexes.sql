-- Attribution indexes cover only the rows that have the attribute. Requests without a virtual
-- key (an open gateway, the master key) or without a user leave these columns NULL, and every
-- lookup filters them with `=`, which never matches NULL: indexing those rows cost every ledger
-- and request-log insert a B-tree write for nothing.
DROP INDEX spend_ledger_key;
DROP INDEX spend_ledger_team;
DROP INDEX spend_ledger_user;
DROP INDEX spend_ledger_end_user;
CREATE INDEX spend_ledger_key ON spend_ledger (key_id, ts) WHERE key_id IS NOT NULL;
CREATE INDEX spend_ledger_team ON spend_ledger (team_id, ts) WHERE team_id IS NOT NULL;
CREATE INDEX spend_ledger_user ON spend_ledger (user_id, ts) WHERE user_id IS NOT NULL;
CREATE INDEX spend_ledger_end_user ON spend_ledger (end_user, ts) WHERE end_user IS NOT NULL;

DROP INDEX request_log_key;
DROP INDEX request_log_team;
CREATE INDEX request_log_key ON request_log (key_id, ts) WHERE key_id IS NOT NULL;
CREATE INDEX request_log_team ON request_log (team_id, ts) WHERE team_id IS NOT NULL;
