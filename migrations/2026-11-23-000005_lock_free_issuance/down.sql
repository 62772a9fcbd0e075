ALTER TABLE credentials DROP CONSTRAINT credentials_allowed_ips_are_networks;
DROP FUNCTION ip_allowed(text, text[]);
DELETE FROM access_tokens t WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.id = t.credential_id);
ALTER TABLE access_tokens ADD CONSTRAINT access_tokens_credential_id_fkey
    FOREIGN KEY (credential_id) REFERENCES credentials (id) ON DELETE CASCADE;
-- Tokens of an older secret version were refused; without the column they would be live.
UPDATE access_tokens t SET revoked_at = now() FROM credentials c
    WHERE c.id = t.credential_id AND t.secret_version <> c.secret_version AND t.revoked_at IS NULL;
ALTER TABLE access_tokens DROP COLUMN secret_version;
ALTER TABLE credentials DROP COLUMN secret_version;
