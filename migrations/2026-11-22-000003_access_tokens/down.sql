DROP FUNCTION issue_access_token(uuid, bytea, bytea, text[], timestamptz, timestamptz, text, integer);
DROP TABLE access_tokens;
