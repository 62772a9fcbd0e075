-- Rotation with an overlap, evidence per secret, and Disable.
--
-- A credential holds at most two live secrets: the current one and, during an overlap the
-- admin chose at rotation, the previous one until `previous_secret_retires_at`. Both stay on
-- the credential row, so a token request still reads one row and takes no lock. Tokens
-- record the secret version they were issued under: the current version's tokens live, and
-- the previous version's (current - 1) until the previous secret retires.
--
-- Each secret keeps its evidence, so an admin retires the old one on facts: its last four
-- characters (to match what sits in a vault without showing the secret), its last use and
-- address, and how many token requests it served since the rotation (counted in memory and
-- added every few seconds: a crash loses at most those seconds of counts). Secrets issued
-- before this migration have no last four (NULL).
ALTER TABLE credentials
    ADD COLUMN secret_last_four text,
    ADD COLUMN secret_last_used_at timestamptz,
    ADD COLUMN secret_last_used_ip text,
    ADD COLUMN secret_uses bigint NOT NULL DEFAULT 0,
    ADD COLUMN previous_secret_hash bytea,
    ADD COLUMN previous_secret_last_four text,
    ADD COLUMN previous_secret_retires_at timestamptz,
    ADD COLUMN previous_secret_last_used_at timestamptz,
    ADD COLUMN previous_secret_last_used_ip text,
    ADD COLUMN previous_secret_uses bigint NOT NULL DEFAULT 0,
    -- Disabled is reversible (Enable); revoked is not.
    ADD COLUMN disabled_at timestamptz,
    ADD CONSTRAINT credentials_previous_secret_whole
        CHECK ((previous_secret_hash IS NULL) = (previous_secret_retires_at IS NULL));

-- Until now a credential's last use was its only secret's.
UPDATE credentials SET secret_last_used_at = last_used_at, secret_last_used_ip = last_used_ip;

-- Whether a token issued under `token_version` is of a live secret at `at`: the current one,
-- or the one before while it overlaps. Every token lookup uses it, so the rule lives here
-- only; a single expression, so the planner inlines it.
CREATE FUNCTION secret_version_live(
    token_version integer, current_version integer, previous_retires_at timestamptz,
    at timestamptz
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT token_version = current_version
        OR (token_version = current_version - 1 AND previous_retires_at IS NOT NULL
            AND previous_retires_at > at)
$$;
