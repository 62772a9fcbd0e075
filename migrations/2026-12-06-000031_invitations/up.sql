-- Issue 19: a Super Admin invites staff instead of setting their password. The invitee gets a
-- one-time link (the token is stored as its SHA-256 digest only) and chooses their own
-- password; the link expires, works once, and can be revoked or sent again (a new token).
CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Stored lowercased and trimmed, like users.email.
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('super_admin', 'admin', 'viewer')),
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    invited_by_email text NOT NULL,
    -- When the current link was made (a resend makes a new one) and until when it works.
    sent_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- When the email with the current link went out; NULL with email off (the link was shown
    -- once to the Super Admin) or when sending failed (email_error says why).
    emailed_at timestamptz,
    email_error text,
    accepted_at timestamptz,
    accepted_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL
);

-- At most one open invitation per address and organisation: inviting the address again sends
-- the open one again.
CREATE UNIQUE INDEX invitations_open_idx ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
