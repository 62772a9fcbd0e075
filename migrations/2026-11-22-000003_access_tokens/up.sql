-- Opaque OAuth access tokens, stored as SHA-256 digests and checked against the database on
-- every use, which is what makes revocation immediate.
--
-- "At most 10 live tokens per credential" is a rule about the newest tokens: a token is live
-- while it is unrevoked, unexpired, and fewer than 10 unrevoked, unexpired tokens of its
-- credential are newer (higher id). Issuing therefore needs no per-credential lock, so
-- concurrent requests for one credential do not queue behind each other; the same statement
-- also marks the tokens it pushes out as revoked, to keep the table small.
CREATE TABLE access_tokens (
    id bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    issuing_ip text,
    last_used_at timestamptz
);
CREATE INDEX access_tokens_unrevoked_idx ON access_tokens (credential_id, id DESC)
    WHERE revoked_at IS NULL;

-- The scopes a credential may use now: its role's APIs, narrowed to its own selection when
-- Fine Grained. A single-expression SQL function, so the planner inlines it into the
-- (prepared, cached) statements of the token path.
CREATE FUNCTION effective_scopes(p_role uuid, p_credential uuid, p_access_level text)
RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id
        WHERE ra.role_id = p_role
          AND (p_access_level = 'full' OR EXISTS (
              SELECT 1 FROM credential_apis ca WHERE ca.credential_id = p_credential AND ca.api_id = a.id))
        ORDER BY a.scope)
$$;

-- Whether fewer than p_max live tokens of the credential are newer than p_token.
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

-- Issues a token in one statement: inserts it only if the credential is, at this instant,
-- active with the secret the caller proved. FOR SHARE makes a concurrent rotation, revocation
-- or deletion wait for this insert and then revoke what it inserted, and makes an insert that
-- starts after one of them see the change and insert nothing. The same statement marks as
-- revoked the tokens it pushes beyond the newest p_max, skipping rows other requests hold (no
-- lock waits, no deadlocks between concurrent issues): it may leave an old token unmarked but
-- never marks a live one, and is_among_newest_tokens does not rely on it.
-- Returns NULL when the credential no longer qualifies.
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
