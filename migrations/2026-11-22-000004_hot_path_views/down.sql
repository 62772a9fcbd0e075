CREATE FUNCTION is_among_newest_tokens(p_credential uuid, p_token bigint, p_now timestamptz, p_max integer)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM (
        SELECT 1 FROM access_tokens n
        WHERE n.credential_id = p_credential AND n.id > p_token
          AND n.revoked_at IS NULL AND n.expires_at > p_now
        LIMIT p_max) newer) < p_max;
END;
$$;

CREATE FUNCTION effective_scopes(p_role uuid, p_credential uuid, p_access_level text)
RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id
        WHERE ra.role_id = p_role
          AND (p_access_level = 'full' OR EXISTS (
              SELECT 1 FROM credential_apis ca WHERE ca.credential_id = p_credential AND ca.api_id = a.id))
        ORDER BY a.scope)
$$;

DROP VIEW credential_scopes;
