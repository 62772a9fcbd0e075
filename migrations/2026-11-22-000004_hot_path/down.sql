DROP TRIGGER credentials_refresh_scopes ON credentials;
DROP TRIGGER apis_refresh_scopes ON apis;
DROP TRIGGER credential_apis_deleted_refresh_scopes ON credential_apis;
DROP TRIGGER credential_apis_inserted_refresh_scopes ON credential_apis;
DROP TRIGGER role_apis_deleted_refresh_scopes ON role_apis;
DROP TRIGGER role_apis_inserted_refresh_scopes ON role_apis;
DROP FUNCTION refresh_scopes_for_org();
DROP FUNCTION refresh_scopes_for_credentials();
DROP FUNCTION refresh_scopes_for_roles();
DROP FUNCTION refresh_credential_scopes(uuid);
ALTER TABLE credentials DROP COLUMN scopes;

ALTER TABLE access_tokens ALTER COLUMN credential_id RESET (n_distinct);

CREATE FUNCTION issue_access_token(
    p_credential uuid, p_secret_hash bytea, p_token_hash bytea, p_scopes text[],
    p_now timestamptz, p_expires timestamptz, p_ip text, p_max integer
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    WITH cred AS (
        SELECT id FROM credentials
        WHERE id = p_credential AND secret_hash = p_secret_hash AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > p_now)
        FOR SHARE),
    pushed_out AS (
        UPDATE access_tokens SET revoked_at = p_now WHERE id IN (
            SELECT t.id FROM access_tokens t JOIN cred ON cred.id = t.credential_id
            WHERE t.revoked_at IS NULL
            ORDER BY t.id DESC OFFSET p_max - 1
            FOR UPDATE OF t SKIP LOCKED))
    INSERT INTO access_tokens (token_hash, credential_id, scopes, issued_at, expires_at, issuing_ip)
        SELECT p_token_hash, cred.id, p_scopes, p_now, p_expires, p_ip FROM cred
        RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;

CREATE FUNCTION is_among_newest_tokens(p_credential uuid, p_token bigint, p_now timestamptz, p_max integer)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM (
        SELECT 1 FROM access_tokens n
        WHERE n.credential_id = p_credential AND n.id > p_token
          AND n.revoked_at IS NULL AND n.expires_at > p_now
        LIMIT p_max) newer) < p_max;
END;
$$;

CREATE FUNCTION effective_scopes(p_role uuid, p_credential uuid, p_access_level text)
RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id
        WHERE ra.role_id = p_role
          AND (p_access_level = 'full' OR EXISTS (
              SELECT 1 FROM credential_apis ca WHERE ca.credential_id = p_credential AND ca.api_id = a.id))
        ORDER BY a.scope)
$$;

DROP VIEW credential_scopes;
