DROP TABLE api_idempotency_keys;
ALTER TABLE audit_events DROP COLUMN actor_client_id;
DROP TRIGGER credentials_management_refresh_scopes ON credentials;
CREATE OR REPLACE VIEW credential_scopes AS
    SELECT c.id AS credential_id, ARRAY(
        SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id
        WHERE ra.role_id = c.role_id
          AND (c.access_level = 'full' OR EXISTS (
              SELECT 1 FROM credential_apis ca WHERE ca.credential_id = c.id AND ca.api_id = a.id))
        ORDER BY a.scope) AS scopes
    FROM credentials c;
ALTER TABLE credentials DROP COLUMN management_scopes;
UPDATE credentials c SET scopes = s.scopes FROM credential_scopes s
    WHERE s.credential_id = c.id AND c.scopes IS DISTINCT FROM s.scopes;
