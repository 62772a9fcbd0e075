-- Hardening of the two unauthenticated edges: sign-in throttling and token liveness.

-- Sign-in throttling, rebuilt. The old table was keyed on raw input ('email:<whatever was
-- typed>'), so a 3 KB email broke its btree index and answered 500; it counted failures
-- after verifying, so 60 concurrent attempts all reached argon2; and it throttled an account
-- from everywhere at once, so a stranger could keep its owner out for good. Its counters are
-- of no use to the new scheme and go with it.
DROP TABLE login_throttle;

-- One row per throttled scope: a (normalised email, caller's address block) pair, or an
-- address block alone. The key is SHA-256 of the scope, never the input itself.
-- `attempts` counts the attempts reserved in the current window: failures, plus attempts
-- still being verified. A correct password hands its reservation back.
CREATE TABLE login_attempts (
    key bytea PRIMARY KEY CHECK (octet_length(key) = 32),
    attempts integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until timestamptz,
    -- Lock-out episodes in the current window: each one lasts twice as long as the last.
    lockouts integer NOT NULL DEFAULT 0
);
CREATE INDEX login_attempts_window_idx ON login_attempts (window_started_at);

-- Reserves one attempt under every key, or none: returns NULL when reserved, otherwise the
-- time until which the caller is refused. A key is refused while it is locked, or while its
-- allowance is taken by attempts in flight (for a second: they will have finished by then).
-- Rows are locked in key order, so concurrent reservations never deadlock. A window that
-- has passed with no lock in force starts afresh.
CREATE FUNCTION reserve_login_attempts(
    p_keys bytea[], p_allowances integer[], p_now timestamptz, p_window interval
) RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    k record;
    refused_until timestamptz;
BEGIN
    INSERT INTO login_attempts (key, attempts, window_started_at)
        SELECT key, 0, p_now FROM unnest(p_keys) AS key ORDER BY key
        ON CONFLICT (key) DO NOTHING;
    FOR k IN
        SELECT a.key, a.attempts, a.window_started_at, a.locked_until, x.allowance
        FROM login_attempts a JOIN unnest(p_keys, p_allowances) AS x(key, allowance) USING (key)
        ORDER BY a.key
        FOR UPDATE OF a
    LOOP
        IF k.locked_until > p_now THEN
            refused_until := greatest(refused_until, k.locked_until);
        ELSIF k.window_started_at > p_now - p_window AND k.attempts >= k.allowance THEN
            refused_until := greatest(refused_until, p_now + interval '1 second');
        END IF;
    END LOOP;
    IF refused_until IS NOT NULL THEN
        RETURN refused_until;
    END IF;
    UPDATE login_attempts SET
        attempts = CASE WHEN window_started_at <= p_now - p_window THEN 1 ELSE attempts + 1 END,
        lockouts = CASE WHEN window_started_at <= p_now - p_window THEN 0 ELSE lockouts END,
        window_started_at = CASE WHEN window_started_at <= p_now - p_window THEN p_now
                                 ELSE window_started_at END
    WHERE key = ANY (p_keys);
    RETURN NULL;
END;
$$;

-- Pushed out is for good. A token used to be live while fewer than 10 unrevoked tokens of
-- its credential were newer, so revoking the newest brought the oldest pushed-out token
-- back until the sweep marked it. Now every newer token counts, revoked or not: the number
-- of newer tokens only grows (until they expire, after the older one has), so a token
-- pushed out stays out from that instant, with no write on the issuing path. The rule now
-- walks revoked rows too, so the index on a credential's tokens covers them all.
CREATE INDEX access_tokens_credential_newest_idx ON access_tokens (credential_id, id DESC);
DROP INDEX access_tokens_unrevoked_idx;
