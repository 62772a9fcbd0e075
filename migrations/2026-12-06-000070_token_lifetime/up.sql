-- Issue 23: a token lifetime per credential (5 min, 15 min, 1 h, 6 h, 24 h), bounded by an
-- organisation maximum. The issuing statement reads the credential's column, so a token's
-- `expires_at` (and `expires_in`, introspection's `exp`) follow it with no extra work. Saving
-- a lower maximum shortens every longer lifetime in the same transaction, so the hot path
-- never needs to read the policy. Constant defaults: no table rewrite.
ALTER TABLE credentials
    ADD COLUMN token_lifetime_seconds integer NOT NULL DEFAULT 3600
        CHECK (token_lifetime_seconds IN (300, 900, 3600, 21600, 86400));

ALTER TABLE org_policies
    ADD COLUMN max_token_lifetime_seconds integer NOT NULL DEFAULT 86400
        CHECK (max_token_lifetime_seconds IN (300, 900, 3600, 21600, 86400));
