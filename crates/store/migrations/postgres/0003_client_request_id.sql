-- The x-request-id a client sent, kept apart from the row's own key. Clients (and proxies that
-- retry, such as Envoy) may send the same id more than once; used as the key, every repeat after
-- the first was dropped by ON CONFLICT DO NOTHING and its spend went unrecorded. Since version
-- 3 every row is keyed by the gateway's own id and the client's id is stored here.
ALTER TABLE request_log ADD COLUMN client_request_id TEXT;
CREATE INDEX request_log_client_request_id ON request_log (client_request_id, ts)
    WHERE client_request_id IS NOT NULL;
