-- The scopes a credential may use now: its role's APIs, narrowed to its own selection when
-- Fine Grained. This was the SQL function effective_scopes; PostgreSQL cannot inline a
-- function whose body holds a subquery, so it planned that body again on every call, and a
-- bearer check spent most of its database time there (pgbench, one token lookup: 3,000
-- tx/s with the function, 6,000 with this view). A view is expanded into the statement that
-- uses it, so a prepared statement plans it once per connection.
CREATE VIEW credential_scopes AS
    SELECT c.id AS credential_id, ARRAY(
        SELECT a.scope FROM role_apis ra JOIN apis a ON a.id = ra.api_id
        WHERE ra.role_id = c.role_id
          AND (c.access_level = 'full' OR EXISTS (
              SELECT 1 FROM credential_apis ca WHERE ca.credential_id = c.id AND ca.api_id = a.id))
        ORDER BY a.scope) AS scopes
    FROM credentials c;

DROP FUNCTION effective_scopes(uuid, uuid, text);

-- Replaced by a NOT EXISTS subquery in the token lookup itself (same rule: fewer than the
-- maximum of live tokens of the credential are newer), which the planner can see into.
DROP FUNCTION is_among_newest_tokens(uuid, bigint, timestamptz, integer);

-- That subquery must walk the credential's own newest tokens (access_tokens_unrevoked_idx),
-- not the primary key. The planner judges by how many rows one credential_id matches; with
-- few credentials, ANALYZE samples say "half the table", and it then scans every newer
-- token of every credential: one busy credential made another's checks 60 times slower
-- (0.35 ms -> 13 ms a lookup, seen here). By design a credential holds a few dozen token
-- rows (ten live, the ones pushed out since the last sweep, a day of expired ones at a
-- steady pace), so tell the planner that: distinct credentials = 5% of the rows.
ALTER TABLE access_tokens ALTER COLUMN credential_id SET (n_distinct = -0.05);
ANALYZE access_tokens;

-- Issuing is now one INSERT ... SELECT ... FOR SHARE written in the application's query
-- builder (prepared and cached there), with no write to the tokens it pushes out: the rule
-- above already refuses them, and a background sweep marks them revoked. Updating the
-- oldest rows on every issue, with 32 requests for one credential at once, halved the rate.
DROP FUNCTION issue_access_token(uuid, bytea, bytea, text[], timestamptz, timestamptz, text, integer);

-- Even as a view, computing a credential's scopes was half the database time of a bearer
-- check (its subquery adds half a dozen plan nodes to a three-index lookup). So the result
-- is also kept on the credential row, recomputed from the view by triggers whenever
-- anything it depends on changes, in the same transaction as the change: the API catalog,
-- a role's APIs, a credential's role, access level or Fine Grained selection.
--
-- Concurrent changes must not leave a stale copy (a scope kept after it was taken away).
-- Every recomputation first locks the organisation row, then reads with a fresh snapshot
-- (each statement of a plpgsql function gets one under READ COMMITTED): whichever change
-- commits last recomputes after the others committed, and so sees them all. The console
-- takes the same lock first thing in such transactions, so no two of them wait on each
-- other in opposite orders.
ALTER TABLE credentials ADD COLUMN scopes text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION refresh_credential_scopes(p_org uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organisations WHERE id = p_org FOR NO KEY UPDATE;
    UPDATE credentials c SET scopes = s.scopes
    FROM credential_scopes s
    WHERE s.credential_id = c.id AND c.org_id = p_org AND c.scopes IS DISTINCT FROM s.scopes;
END;
$$;

-- Saving a role or a Fine Grained selection rewrites many rows at once: one recomputation
-- per statement, not per row (granting 100 APIs to a role: 79 ms with a recomputation per
-- row and 2 credentials, 11 ms per statement with 10 credentials).
CREATE FUNCTION refresh_scopes_for_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A role deleted in the same statement has no credentials (ON DELETE RESTRICT).
    PERFORM refresh_credential_scopes(org_id) FROM (
        SELECT DISTINCT r.org_id FROM changed_rows c JOIN roles r ON r.id = c.role_id
        ORDER BY r.org_id) orgs;
    RETURN NULL;
END;
$$;
CREATE TRIGGER role_apis_inserted_refresh_scopes AFTER INSERT ON role_apis
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_scopes_for_roles();
CREATE TRIGGER role_apis_deleted_refresh_scopes AFTER DELETE ON role_apis
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_scopes_for_roles();

CREATE FUNCTION refresh_scopes_for_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A credential deleted in the same statement needs nothing.
    PERFORM refresh_credential_scopes(org_id) FROM (
        SELECT DISTINCT cr.org_id FROM changed_rows c JOIN credentials cr ON cr.id = c.credential_id
        ORDER BY cr.org_id) orgs;
    RETURN NULL;
END;
$$;
CREATE TRIGGER credential_apis_inserted_refresh_scopes AFTER INSERT ON credential_apis
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_scopes_for_credentials();
CREATE TRIGGER credential_apis_deleted_refresh_scopes AFTER DELETE ON credential_apis
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_scopes_for_credentials();

-- Catalog and credential edits change one row per statement; PostgreSQL allows no
-- transition table on a trigger with a column list anyway.
CREATE FUNCTION refresh_scopes_for_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_credential_scopes(NEW.org_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER apis_refresh_scopes AFTER UPDATE OF scope ON apis
    FOR EACH ROW EXECUTE FUNCTION refresh_scopes_for_org();
-- Not fired by the refresh's own UPDATE, which sets only scopes.
CREATE TRIGGER credentials_refresh_scopes AFTER INSERT OR UPDATE OF role_id, access_level ON credentials
    FOR EACH ROW EXECUTE FUNCTION refresh_scopes_for_org();

UPDATE credentials c SET scopes = s.scopes FROM credential_scopes s WHERE s.credential_id = c.id;
