-- The management API (issue 13).
--
-- Management scopes are built in, not catalog entries: a credential holds them in its own
-- column, which only a Super Admin changes. The catalog may not name them, and the view
-- ignores any catalog entry in the reserved `m2m.` namespace that predates this rule, so no
-- role can hand one out.
ALTER TABLE credentials ADD COLUMN management_scopes text[] NOT NULL DEFAULT '{}'
    CONSTRAINT credentials_management_scopes_known CHECK (management_scopes <@ ARRAY[
        'm2m.credentials:read', 'm2m.credentials:write', 'm2m.credentials:rotate',
        'm2m.tokens:revoke', 'm2m.audit:read']::text[]);

-- What a credential may use now: its role's APIs (narrowed when Fine Grained) and its
-- management scopes. The hot path reads the copy kept in credentials.scopes, so tokens,
-- introspection and bearer checks need no change.
CREATE OR REPLACE VIEW credential_scopes AS
    SELECT c.id AS credential_id, ARRAY(
        SELECT s FROM (
            SELECT a.scope AS s FROM role_apis ra JOIN apis a ON a.id = ra.api_id
            WHERE ra.role_id = c.role_id
              AND a.scope NOT LIKE 'm2m.%'
              AND (c.access_level = 'full' OR EXISTS (
                  SELECT 1 FROM credential_apis ca WHERE ca.credential_id = c.id AND ca.api_id = a.id))
            UNION
            SELECT unnest(c.management_scopes)) granted
        ORDER BY s) AS scopes
    FROM credentials c;

CREATE TRIGGER credentials_management_refresh_scopes AFTER UPDATE OF management_scopes ON credentials
    FOR EACH ROW EXECUTE FUNCTION refresh_scopes_for_org();

UPDATE credentials c SET scopes = s.scopes FROM credential_scopes s
    WHERE s.credential_id = c.id AND c.scopes IS DISTINCT FROM s.scopes;

-- A calling credential acting through the API is the audit row's actor.
ALTER TABLE audit_events ADD COLUMN actor_client_id text;

-- Idempotency-Key: the first answer to a POST, kept 24 hours, per calling credential. Written
-- in the same transaction as the change, so a retry sees either nothing done or the answer.
-- A revealed secret is never kept: the stored body says it was already shown.
CREATE TABLE api_idempotency_keys (
    caller_id uuid NOT NULL,
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_digest bytea NOT NULL,
    status integer NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX api_idempotency_keys_created_at_idx ON api_idempotency_keys (created_at);
