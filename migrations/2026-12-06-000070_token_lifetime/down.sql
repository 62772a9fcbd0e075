ALTER TABLE org_policies DROP COLUMN max_token_lifetime_seconds;
ALTER TABLE credentials DROP COLUMN token_lifetime_seconds;
