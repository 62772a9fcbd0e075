-- Issue 14: TOTP two-factor sign-in for staff.
-- One row per user who started or finished enrolment. The TOTP key is sealed with the
-- server's data key (src/sealed.rs, label "totp:<user id>"); enabled_at stays NULL until the
-- user confirms a code. last_used_step is the latest 30 s step a code was accepted for, so a
-- code can never be used twice.
CREATE TABLE user_two_factor (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_key bytea NOT NULL,
    enabled_at timestamptz,
    last_used_step bigint,
    created_at timestamptz NOT NULL
);

-- One-time recovery codes: high-entropy random, so stored as SHA-256 digests.
CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES user_two_factor (user_id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE org_policies
    ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;
