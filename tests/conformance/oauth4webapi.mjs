// OAuth conformance checks driven by oauth4webapi (npm), a strict client: one named check per
// protocol clause, PASS or FAIL each, exit status 1 when any fails. Run by
// tests/conformance/run.sh, which starts the server and passes, in environment variables:
//   OAUTH4WEBAPI        path of the installed package's entry point (under target/)
//   CONF_ISSUER         the server's PUBLIC_URL, its issuer
//   CONF_WHOAMI         the bearer-protected resource (GET /api/v1/whoami)
//   CONF_CLIENT_ID/_SECRET   this client's own credential
//   CONF_RS_ID/_SECRET       a resource server's credential (same organisation) for introspection
//   CONF_KEYS_ID/_SECRET     a credential holding m2m.credentials:read and :rotate
//   CONF_JWT_ID/_UUID        the credential this script registers its ES256 key on
// Nothing secret is printed: a FAIL line names the clause and what was seen (status, error
// code), never a secret, a token or a key.
// This file holds the secret-based clauses (RFC 8414, 6749, 6750, 7662, 7009) and the helpers;
// the private_key_jwt and key registration ones (RFC 7638, 7523, 7521) are in
// oauth4webapi_keys.mjs, run last, through this file's check(), so they share its counts and
// its total line.
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'

import { run as runKeyChecks } from './oauth4webapi_keys.mjs'

const oauth = await import(pathToFileURL(need('OAUTH4WEBAPI')).href)

function need(name) {
  const value = process.env[name]
  if (!value) {
    console.error(`${name} is not set (run tests/conformance/run.sh)`)
    process.exit(2)
  }
  return value
}

const ISSUER = need('CONF_ISSUER')
const WHOAMI = new URL(need('CONF_WHOAMI'))
const CLIENT = { client_id: need('CONF_CLIENT_ID') }
const SECRET = need('CONF_CLIENT_SECRET')
const RS = { client_id: need('CONF_RS_ID') }
const RS_SECRET = need('CONF_RS_SECRET')
const KEYS = { client_id: need('CONF_KEYS_ID') }
const KEYS_SECRET = need('CONF_KEYS_SECRET')
const JWT_CLIENT = { client_id: need('CONF_JWT_ID') }
const JWT_UUID = need('CONF_JWT_UUID')
// Loopback has no TLS: oauth4webapi refuses plain http unless told.
const INSECURE = { [oauth.allowInsecureRequests]: true }
// RFC 6749 §5.2 and RFC 7009 §2.2.1 codes, and slow_down (IANA OAuth Extensions Error registry).
const REGISTERED_ERRORS = new Set([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client',
  'unsupported_grant_type', 'invalid_scope', 'unsupported_token_type', 'slow_down',
])
// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/

let passed = 0
let failed = 0
async function check(name, body) {
  try {
    await body()
    passed += 1
    console.log(`PASS ${name}`)
  } catch (e) {
    failed += 1
    console.log(`FAIL ${name}: ${describe(e)}`)
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message)
}
// What went wrong, without anything a response body might hold beyond its error code.
function describe(e) {
  if (e instanceof oauth.ResponseBodyError) return `HTTP ${e.status} error=${e.error}`
  if (e instanceof oauth.WWWAuthenticateChallengeError) {
    return `HTTP ${e.status} with a ${e.cause.map((c) => c.scheme).join(', ')} challenge`
  }
  if (e instanceof oauth.OperationProcessingError) return `oauth4webapi: ${e.message} (${e.code})`
  return e?.message ?? String(e)
}

// --- helpers ----------------------------------------------------------------------------------

let as // the discovered metadata

function post(url, body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    body: new URLSearchParams(body),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    redirect: 'manual',
  })
}
function tokenRequest(client, auth, parameters = {}) {
  return oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams(parameters), INSECURE)
}
async function token(client, auth, parameters = {}) {
  const res = await tokenRequest(client, auth, parameters)
  return oauth.processClientCredentialsResponse(as, client, res)
}
async function introspect(token, client = RS, auth = oauth.ClientSecretBasic(RS_SECRET)) {
  const res = await oauth.introspectionRequest(as, client, auth, token, INSECURE)
  return oauth.processIntrospectionResponse(as, client, res)
}
async function revoke(token, client = CLIENT, auth = oauth.ClientSecretBasic(SECRET)) {
  const res = await oauth.revocationRequest(as, client, auth, token, INSECURE)
  return oauth.processRevocationResponse(res)
}
// The challenges of a response as oauth4webapi parses them (its processors throw them as a
// WWWAuthenticateChallengeError for any answer that carries one).
async function challengesOf(res) {
  try {
    await oauth.processRevocationResponse(res.clone())
  } catch (e) {
    if (e instanceof oauth.WWWAuthenticateChallengeError) return e.cause
  }
  return []
}
// A bearer call expected to be refused: protectedResourceRequest throws the challenges of a
// WWW-Authenticate answer as a WWWAuthenticateChallengeError; this returns its status and them.
async function refusedBearer(accessToken) {
  try {
    const res = await oauth.protectedResourceRequest(accessToken, 'GET', WHOAMI, undefined, undefined, INSECURE)
    await res.body?.cancel()
    return { status: res.status, challenges: [] }
  } catch (e) {
    if (e instanceof oauth.WWWAuthenticateChallengeError) return { status: e.status, challenges: e.cause }
    throw e
  }
}
// RFC 6749 §5.2 (and RFC 7235 §3.1 for a 401): the status, a JSON body with the registered
// code (`error`; null: any registered one) and a well-formed description, and on a 401 a
// WWW-Authenticate challenge (of `scheme`, when given).
async function expectError(res, status, error, scheme) {
  const type = res.headers.get('content-type') ?? ''
  let body
  try {
    body = await res.clone().json()
  } catch {
    body = undefined
  }
  assert(res.status < 500, `HTTP ${res.status}: a server error, not a refusal`)
  assert(res.status === status, `HTTP ${res.status} error=${body?.error}, expected ${status} ${error}`)
  assert(type.startsWith('application/json'), `Content-Type ${type}, expected application/json`)
  assert(body && typeof body === 'object', 'the body is not a JSON object')
  if (error !== null) assert(body.error === error, `error=${body.error}, expected ${error}`)
  assert(REGISTERED_ERRORS.has(body.error), `error=${body.error} is no registered code`)
  if (body.error_description !== undefined) {
    assert(typeof body.error_description === 'string' && DESCRIPTION_CHARS.test(body.error_description),
      'error_description holds characters RFC 6749 §5.2 does not allow')
  }
  if (status === 401) {
    assert(res.headers.has('www-authenticate'), '401 without WWW-Authenticate (RFC 7235 §3.1)')
    const challenges = await challengesOf(res)
    assert(challenges.length > 0, 'WWW-Authenticate does not parse as a challenge')
    if (scheme) {
      assert(challenges.some((c) => c.scheme === scheme),
        `challenge ${challenges.map((c) => c.scheme)}, expected ${scheme}`)
    }
  }
  return body
}
const now = () => Math.floor(Date.now() / 1000)
// A client authentication that sends exactly these body parameters (and nothing else).
const sendOnly = (params) => (_as, _client, body) => {
  for (const [name, value] of Object.entries(params)) body.set(name, value)
}

// --- RFC 8414: discovery ----------------------------------------------------------------------

await check('RFC 8414 §3 discovery at /.well-known/oauth-authorization-server with the issuer check', async () => {
  const res = await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oauth2', ...INSECURE })
  assert(new URL(res.url).pathname === '/.well-known/oauth-authorization-server', `fetched ${new URL(res.url).pathname}`)
  as = await oauth.processDiscoveryResponse(new URL(ISSUER), res)
})
if (!as) {
  // Without metadata no other check can run; say so for each rather than crash.
  console.log('FAIL every other check: discovery failed')
  console.log(`oauth4webapi: ${passed} passed, ${failed + 1} failed`)
  process.exit(1)
}

await check('RFC 8414 §2 required metadata members', async () => {
  assert(as.issuer === ISSUER, `issuer ${as.issuer}, expected ${ISSUER}`)
  const issuer = new URL(as.issuer)
  assert(!issuer.search && !issuer.hash, 'the issuer has a query or fragment')
  for (const member of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    assert(typeof as[member] === 'string', `${member} is missing`)
    assert(new URL(as[member]).origin === issuer.origin, `${member} is not on the issuer's origin`)
  }
  assert(as.token_endpoint === `${ISSUER}/oauth/token`, `token_endpoint ${as.token_endpoint}`)
  assert(as.grant_types_supported?.includes('client_credentials'), 'grant_types_supported lacks client_credentials')
  for (const method of ['client_secret_basic', 'client_secret_post']) {
    for (const member of ['token_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported',
      'revocation_endpoint_auth_methods_supported']) {
      assert(as[member]?.includes(method), `${member} lacks ${method}`)
    }
  }
  // REQUIRED by §2 as published, even for a server whose grants never use the authorization
  // endpoint (errata 7793, only reported, would drop it for them).
  assert(Array.isArray(as.response_types_supported), 'response_types_supported is missing or not an array')
})

await check('RFC 8414 §3.2 members with zero elements are omitted', async () => {
  // §2 requires response_types_supported, so a server with nothing to list in it (client
  // credentials only) can only send it empty: the one member §3.2 cannot apply to.
  const empty = Object.entries(as)
    .filter(([k, v]) => Array.isArray(v) && v.length === 0 && k !== 'response_types_supported')
    .map(([k]) => k)
  assert(empty.length === 0, `empty: ${empty.join(', ')}`)
})

// --- RFC 6749: client authentication, token response, errors --------------------------------

let basicToken
await check('RFC 6749 §2.3.1 client_secret_basic is accepted', async () => {
  basicToken = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
})

await check('RFC 6749 §2.3.1 client_secret_post is accepted', async () => {
  await token(CLIENT, oauth.ClientSecretPost(SECRET))
})

await check('RFC 6749 §2.3.1 Basic and body credentials at once are refused', async () => {
  const both = (as_, client, body, headers) => {
    oauth.ClientSecretBasic(SECRET)(as_, client, body, headers)
    oauth.ClientSecretPost(SECRET)(as_, client, body, headers)
  }
  const res = await tokenRequest(CLIENT, both)
  // RFC 6749 §5.2: invalid_request "utilizes more than one mechanism for authenticating the client".
  await expectError(res, 400, 'invalid_request')
})

await check('RFC 6749 §5.1 successful token response', async () => {
  const res = await tokenRequest(CLIENT, oauth.ClientSecretBasic(SECRET), { scope: 'orders:read' })
  const raw = res.clone()
  const parsed = await oauth.processClientCredentialsResponse(as, CLIENT, res)
  assert(raw.status === 200, `HTTP ${raw.status}`)
  assert((raw.headers.get('content-type') ?? '').startsWith('application/json'), 'not application/json')
  const body = await raw.json()
  assert(typeof body.access_token === 'string' && body.access_token.length > 0, 'access_token missing')
  assert(typeof body.token_type === 'string' && body.token_type.toLowerCase() === 'bearer', `token_type ${body.token_type}`)
  assert(Number.isInteger(body.expires_in) && body.expires_in > 0, `expires_in ${body.expires_in}`)
  // §5.1: scope is REQUIRED when it differs from the request; here it must be what was asked.
  assert(body.scope === 'orders:read', `scope "${body.scope}" for a request of "orders:read"`)
  assert(!('refresh_token' in body), 'a refresh token for client credentials (RFC 6749 §4.4.3 says SHOULD NOT)')
  assert(parsed.access_token === body.access_token, 'oauth4webapi read another token')
})

await check('RFC 6749 §5.1 Cache-Control: no-store and Pragma: no-cache on the token response', async () => {
  const res = await tokenRequest(CLIENT, oauth.ClientSecretPost(SECRET))
  await oauth.processClientCredentialsResponse(as, CLIENT, res.clone())
  const cache = res.headers.get('cache-control') ?? ''
  assert(cache.split(',').map((d) => d.trim().toLowerCase()).includes('no-store'), `Cache-Control: ${cache}`)
  assert((res.headers.get('pragma') ?? '').toLowerCase() === 'no-cache', `Pragma: ${res.headers.get('pragma')}`)
})

await check('RFC 6749 §5.2 invalid_client with Basic: 401 and WWW-Authenticate: Basic', async () => {
  const res = await tokenRequest(CLIENT, oauth.ClientSecretBasic(`${SECRET.slice(0, -4)}AAAA`))
  await expectError(res, 401, 'invalid_client', 'basic')
  try {
    await oauth.processClientCredentialsResponse(as, CLIENT, res)
    throw new Error('oauth4webapi accepted it')
  } catch (e) {
    assert(e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401, `oauth4webapi: ${describe(e)}`)
  }
})

await check('RFC 6749 §5.2 invalid_client with body credentials: 401 with WWW-Authenticate', async () => {
  const res = await tokenRequest(CLIENT, oauth.ClientSecretPost(`${SECRET.slice(0, -4)}AAAA`))
  await expectError(res, 401, 'invalid_client')
})

await check('RFC 6749 §5.2 invalid_client for an unknown client: 401 with WWW-Authenticate', async () => {
  const res = await tokenRequest({ client_id: 'm2m_ci_unknown' }, oauth.ClientSecretBasic(SECRET))
  await expectError(res, 401, 'invalid_client', 'basic')
})

await check('RFC 6749 §5.2 invalid_client without client authentication: 401 with WWW-Authenticate', async () => {
  const res = await tokenRequest(CLIENT, sendOnly({}))
  await expectError(res, 401, 'invalid_client')
})

await check('RFC 6749 §5.2 unsupported_grant_type', async () => {
  const res = await oauth.genericTokenEndpointRequest(as, CLIENT, oauth.ClientSecretBasic(SECRET), 'password',
    { username: 'someone', password: 'something' }, INSECURE)
  await expectError(res, 400, 'unsupported_grant_type')
  try {
    await oauth.processGenericTokenEndpointResponse(as, CLIENT, res)
    throw new Error('oauth4webapi accepted it')
  } catch (e) {
    assert(e instanceof oauth.ResponseBodyError && e.error === 'unsupported_grant_type', `oauth4webapi: ${describe(e)}`)
  }
})

await check('RFC 6749 §5.2 invalid_scope', async () => {
  const res = await tokenRequest(CLIENT, oauth.ClientSecretBasic(SECRET), { scope: 'orders:read inventory:delete' })
  await expectError(res, 400, 'invalid_scope')
  try {
    await oauth.processClientCredentialsResponse(as, CLIENT, res)
    throw new Error('oauth4webapi accepted it')
  } catch (e) {
    assert(e instanceof oauth.ResponseBodyError && e.error === 'invalid_scope', `oauth4webapi: ${describe(e)}`)
  }
})

await check('RFC 6749 §5.2 invalid_request for a missing grant_type', async () => {
  const basic = Buffer.from(`${CLIENT.client_id}:${SECRET}`).toString('base64')
  const res = await post(as.token_endpoint, {}, { authorization: `Basic ${basic}` })
  await expectError(res, 400, 'invalid_request')
})

// --- RFC 6750: the bearer-protected resource ---------------------------------------------------

await check('RFC 6750 §2.1 a valid bearer token is accepted', async () => {
  assert(basicToken, 'no token from client_secret_basic')
  const res = await oauth.protectedResourceRequest(basicToken.access_token, 'GET', WHOAMI, undefined, undefined, INSECURE)
  assert(res.status === 200, `HTTP ${res.status}`)
  const body = await res.json()
  assert(body.credential?.client_id === CLIENT.client_id, 'whoami names another credential')
})

await check('RFC 6750 §3 invalid token: 401 with WWW-Authenticate: Bearer error="invalid_token"', async () => {
  const { status, challenges } = await refusedBearer(`m2m_at_${crypto.randomBytes(32).toString('base64url')}`)
  assert(status === 401, `HTTP ${status}`)
  const bearer = challenges.find((c) => c.scheme === 'bearer')
  assert(bearer, `no Bearer challenge (${challenges.map((c) => c.scheme)})`)
  assert(bearer.parameters.error === 'invalid_token', `error="${bearer.parameters.error}"`)
})

await check('RFC 6750 §3.1 no credentials: 401 with a Bearer challenge and no error code', async () => {
  const res = await fetch(WHOAMI)
  assert(res.status === 401, `HTTP ${res.status}`)
  const bearer = (await challengesOf(res)).find((c) => c.scheme === 'bearer')
  assert(bearer, `no Bearer challenge in WWW-Authenticate: ${res.headers.get('www-authenticate')}`)
  assert(bearer.parameters.error === undefined, `error="${bearer.parameters.error}" for a request without credentials`)
})

// --- RFC 7662: introspection -----------------------------------------------------------------

await check('RFC 7662 §2.1-2.2 an active token introspects active with its claims', async () => {
  const issued = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
  const before = now()
  const claims = await introspect(issued.access_token)
  assert(claims.active === true, `active: ${claims.active}`)
  assert(claims.client_id === CLIENT.client_id, 'client_id is not the token\'s client')
  assert(claims.scope === issued.scope, `scope "${claims.scope}", issued "${issued.scope}"`)
  assert(typeof claims.token_type === 'string' && claims.token_type.toLowerCase() === 'bearer', `token_type ${claims.token_type}`)
  assert(Number.isInteger(claims.exp) && claims.exp > before, `exp ${claims.exp}`)
  assert(Number.isInteger(claims.iat) && claims.iat <= before + 5, `iat ${claims.iat}`)
  assert(Math.abs(claims.exp - claims.iat - issued.expires_in) <= 2, `exp - iat = ${claims.exp - claims.iat}, expires_in ${issued.expires_in}`)
  assert(claims.iss === ISSUER, `iss ${claims.iss}`)
})

await check('RFC 7662 §2.2 an unknown token introspects inactive, with nothing else', async () => {
  const claims = await introspect(`m2m_at_${crypto.randomBytes(32).toString('base64url')}`)
  assert(claims.active === false, `active: ${claims.active}`)
  assert(Object.keys(claims).length === 1, `members besides active: ${Object.keys(claims).filter((k) => k !== 'active')}`)
})

await check('RFC 7662 §2.3 a caller with a wrong secret gets 401', async () => {
  const res = await oauth.introspectionRequest(as, RS, oauth.ClientSecretBasic(`${RS_SECRET.slice(0, -4)}AAAA`), 'anything', INSECURE)
  await expectError(res, 401, 'invalid_client', 'basic')
})

await check('RFC 7662 §2.1, §4 an unauthenticated caller is refused', async () => {
  const issued = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
  const res = await oauth.introspectionRequest(as, RS, sendOnly({}), issued.access_token, INSECURE)
  const body = await expectError(res, 401, 'invalid_client')
  assert(!('active' in body), 'the refusal tells whether the token is active')
})

// --- RFC 7009: revocation ----------------------------------------------------------------------

let revoked
await check('RFC 7009 §2.1-2.2 revoking a valid token answers 200', async () => {
  const issued = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
  const res = await oauth.revocationRequest(as, CLIENT, oauth.ClientSecretBasic(SECRET), issued.access_token, INSECURE)
  assert(res.status === 200, `HTTP ${res.status}`)
  await oauth.processRevocationResponse(res)
  revoked = issued.access_token
})

await check('RFC 7009 §2.2 the revoked token introspects inactive and is refused as a bearer token', async () => {
  assert(revoked, 'no token was revoked')
  const claims = await introspect(revoked)
  assert(claims.active === false, `active: ${claims.active}`)
  const { status, challenges } = await refusedBearer(revoked)
  assert(status === 401, `whoami answered HTTP ${status}`)
  assert(challenges.some((c) => c.scheme === 'bearer' && c.parameters.error === 'invalid_token'),
    'whoami\'s refusal has no Bearer challenge with error="invalid_token"')
})

await check('RFC 7009 §2.2 revoking an unknown token answers 200', async () => {
  await revoke(`m2m_at_${crypto.randomBytes(32).toString('base64url')}`)
  await revoke('not-even-one-of-our-tokens')
})

await check('RFC 7009 §2.1 another client\'s token is refused and stays active', async () => {
  const issued = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
  const res = await oauth.revocationRequest(as, RS, oauth.ClientSecretBasic(RS_SECRET), issued.access_token, INSECURE)
  assert(res.status !== 200, 'HTTP 200: the resource server revoked another client\'s token')
  // RFC 7009 names no code for this refusal; any RFC 6749 §5.2 one will do.
  assert([400, 401, 403].includes(res.status), `HTTP ${res.status}`)
  await expectError(res, res.status, null)
  assert((await introspect(issued.access_token)).active === true, 'the token is no longer active')
})

await check('RFC 7009 §2.1 an unauthenticated revocation is refused', async () => {
  const issued = await token(CLIENT, oauth.ClientSecretBasic(SECRET))
  const res = await oauth.revocationRequest(as, CLIENT, sendOnly({}), issued.access_token, INSECURE)
  await expectError(res, 401, 'invalid_client')
  assert((await introspect(issued.access_token)).active === true, 'the token is no longer active')
})

// --- RFC 7638, RFC 7523, RFC 7521: private_key_jwt and key registration, in oauth4webapi_keys.mjs

await runKeyChecks({
  oauth, as, check, assert, expectError, token, tokenRequest, introspect, revoke, sendOnly, now,
  ISSUER, CLIENT, KEYS, KEYS_SECRET, JWT_CLIENT, JWT_UUID,
})

console.log(`oauth4webapi: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
