-- Token issuance without a lock on the credential row.
--
-- Every token insert took a lock on its credential's row: FOR SHARE in the issuing
-- statement, and KEY SHARE for the foreign key. With 32 requests for one credential those
-- locks pile up on one row as a MultiXact, rewritten by each insert. pgbench, the issuing
-- statement alone, 32 clients: about 8,000 tx/s with the foreign key, 11,000 without
-- (the one-row INSERT+COMMIT floor ran at 12,000-14,000 alongside). Over HTTP, with the
-- token endpoint down to this one statement: 53-63 % of the insert floor with the foreign
-- key (three runs), 62-81 % without (four runs; tests/bench/run.sh).
--
-- What the locks gave is kept by other means:
--   - Rotation. A token issued while the secret is being replaced could be stored after the
--     rotation revoked the credential's tokens. Each token now records the secret version it
--     was issued under, and only tokens of the current version are accepted, so such a
--     token is refused from its first use.
--   - Revocation, expiry and changes of rights were never enforced by the lock alone: every
--     use checks the credential as it is then.
--   - Deletion. Tokens still go in the same transaction as their credential, deleted by
--     the application instead of by a cascade. One inserted by a request racing the
--     deletion is never accepted (every use joins the credential), and the sweep purges it
--     a day after it expires, like any other token.
ALTER TABLE credentials ADD COLUMN secret_version integer NOT NULL DEFAULT 1;
ALTER TABLE access_tokens ADD COLUMN secret_version integer NOT NULL DEFAULT 1;
ALTER TABLE access_tokens ALTER COLUMN secret_version DROP DEFAULT;

ALTER TABLE access_tokens DROP CONSTRAINT access_tokens_credential_id_fkey;

-- Whether a caller at `ip` (NULL: unknown) may use a credential with this allow-list (empty:
-- any address). The token endpoint checks it inside the statement that issues the token, so
-- the lookups of the other endpoints use it too, and the rule lives here only. A single
-- expression, so the planner inlines it into the statements that call it.
CREATE FUNCTION ip_allowed(ip text, allowed text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cardinality(allowed) = 0 OR (ip IS NOT NULL AND ip::inet <<= ANY (allowed::cidr[]))
$$;

-- ip_allowed casts the stored entries: the console stores only canonical addresses and CIDR
-- blocks, and the database now refuses anything else.
ALTER TABLE credentials ADD CONSTRAINT credentials_allowed_ips_are_networks
    CHECK (allowed_ips::cidr[] IS NOT NULL);
