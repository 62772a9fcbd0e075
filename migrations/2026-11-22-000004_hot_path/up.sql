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
