-- Issue 19, sign-in: a per-account ceiling on two-factor codes, the owner's alert when a right
-- password is followed by a wrong code, a pending sign-in tied to its user, and emails about a
-- staff member's own account.

-- Wrong codes in a row for the account, from every address (NIST SP 800-63B §5.2.2: at most
-- 100). Reserved before a code is checked, set back to 0 by a right one; at 100 the app's
-- codes are refused until a recovery code is used or a Super Admin resets two-factor.
ALTER TABLE user_two_factor
    ADD COLUMN failed_codes integer NOT NULL DEFAULT 0 CHECK (failed_codes >= 0),
    -- When the owner was last told that their password was followed by a wrong code: at most
    -- one such email an hour.
    ADD COLUMN alerted_at timestamptz;

-- The user whose right password a session's pending sign-in (waiting for its code) carries.
-- Ending the user's sessions (sign out everywhere, a password change, disabling, a role
-- change, a two-factor reset) deletes these rows too, so the code step cannot finish.
ALTER TABLE sessions
    ADD COLUMN pending_user_id uuid REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX sessions_pending_user_id_idx ON sessions (pending_user_id)
    WHERE pending_user_id IS NOT NULL;

-- Emails about a staff member's own account: a right password followed by a wrong code, and
-- two-factor turned on or off.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('expires_in_30_days',
    'expires_in_7_days', 'expires_in_1_day', 'disabled', 'leaked', 'password_with_wrong_code',
    'two_factor_enabled', 'two_factor_disabled'));
