DROP FUNCTION issue_access_token(uuid, bytea, bytea, text[], timestamptz, timestamptz, text, integer);
DROP FUNCTION is_among_newest_tokens(uuid, bigint, timestamptz, integer);
DROP FUNCTION effective_scopes(uuid, uuid, text);
DROP TABLE access_tokens;
