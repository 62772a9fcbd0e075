ALTER TABLE org_policies DROP COLUMN require_two_factor;
DROP TABLE recovery_codes;
DROP TABLE user_two_factor;
