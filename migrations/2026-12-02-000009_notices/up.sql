-- Emails the server owes people: expiry reminders, automatic disabling, leak reports, one row
-- per recipient (a bouncing address delays no one else, and no recipient sees another's
-- address). A row is written in the same transaction as what it reports; background jobs
-- deliver it over SMTP, one instance per row (FOR UPDATE SKIP LOCKED), retrying with backoff.
CREATE TABLE notices (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    credential_id uuid REFERENCES credentials (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('expires_in_30_days', 'expires_in_7_days',
        'expires_in_1_day', 'disabled', 'leaked')),
    -- What the notice is about, for deduplication: the expiry it reminds of, the moment of
    -- the disabling or of the report.
    subject_at timestamptz NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    -- The console page the email links to; the sending instance adds its PUBLIC_URL.
    link_path text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    sent_at timestamptz,
    -- Not delivered in time (email off, or the server kept refusing): given up, not sent late.
    abandoned_at timestamptz,
    created_at timestamptz NOT NULL,
    -- Exactly one email per credential, threshold, expiry and recipient, however many
    -- instances run.
    UNIQUE (credential_id, kind, subject_at, recipient)
);

-- The delivery job's queue: only what is still owed.
CREATE INDEX notices_due ON notices (next_attempt_at)
    WHERE sent_at IS NULL AND abandoned_at IS NULL;
