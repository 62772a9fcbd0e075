-- Opaque OAuth access tokens, stored as SHA-256 digests and checked against the database on
-- every use, which is what makes revocation immediate.
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
CREATE INDEX access_tokens_live_idx ON access_tokens (credential_id, issued_at DESC, id DESC)
    WHERE revoked_at IS NULL;

-- Issues a token in one round trip: locks the credential row (serialising concurrent issues
-- for it), re-checks under that lock that the credential is still active with the secret
-- the caller proved (so a token can never be minted after a rotation, revocation or deletion
-- committed), revokes the oldest live tokens beyond p_max - 1, and inserts the new one.
-- Each statement of a plpgsql function sees the rows committed before it ran, so the
-- eviction counts every token issued by requests that held the lock before this one.
-- Returns NULL when the credential no longer qualifies.
CREATE FUNCTION issue_access_token(
    p_credential uuid,
    p_secret_hash bytea,
    p_token_hash bytea,
    p_scopes text[],
    p_now timestamptz,
    p_expires timestamptz,
    p_ip text,
    p_max integer
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM 1 FROM credentials
        WHERE id = p_credential
          AND secret_hash = p_secret_hash
          AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > p_now)
        FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE access_tokens SET revoked_at = p_now
        WHERE id IN (
            SELECT id FROM access_tokens
            WHERE credential_id = p_credential AND revoked_at IS NULL AND expires_at > p_now
            ORDER BY issued_at DESC, id DESC
            OFFSET greatest(p_max - 1, 0)
        );
    INSERT INTO access_tokens (token_hash, credential_id, scopes, issued_at, expires_at, issuing_ip)
        VALUES (p_token_hash, p_credential, p_scopes, p_now, p_expires, p_ip)
        RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;
