"""OAuth conformance checks driven by authlib (PyPI), the second independent client.

One named check per protocol clause, PASS or FAIL each, exit status 1 when any fails. Run by
tests/conformance/run.sh (in the venv it makes under target/conformance/), which starts the
server and passes, in environment variables:
  CONF_ISSUER               the server's PUBLIC_URL, its issuer
  CONF_WHOAMI               the bearer-protected resource (GET /api/v1/whoami)
  CONF_CLIENT_ID/_SECRET    this client's own credential
  CONF_RS_ID/_SECRET        a resource server's credential (same organisation)
  CONF_KEYS_ID/_SECRET      a credential holding m2m.credentials:read and :rotate
  CONF_JWT_ID/_UUID         the credential this script registers its RS256 key on
  AUTHLIB_INSECURE_TRANSPORT=1   loopback has no TLS
Nothing secret is printed: a FAIL line names the clause and what was seen (status, error
code), never a secret, a token or a key.
This file holds the secret-based clauses (RFC 8414, 6749, 6750, 7662, 7009) and the helpers;
the private_key_jwt and key registration ones (RFC 7638, 7523, 7521) are in authlib_keys.py,
run last, through this file's check(), so they share its counts and its total line.
"""

import os
import re
import secrets
import sys
import time

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

# authlib_keys.py sits beside this script: its directory is sys.path[0] when Python runs it by
# path, unless PYTHONSAFEPATH (or -P) says otherwise, so it is put there in any case. No
# __pycache__ is left in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import authlib_keys  # noqa: E402 - the private_key_jwt checks, run after the secret-based ones


def need(name):
    value = os.environ.get(name)
    if not value:
        print(f"{name} is not set (run tests/conformance/run.sh)", file=sys.stderr)
        sys.exit(2)
    return value


ISSUER = need("CONF_ISSUER")
WHOAMI = need("CONF_WHOAMI")
CLIENT_ID, SECRET = need("CONF_CLIENT_ID"), need("CONF_CLIENT_SECRET")
RS_ID, RS_SECRET = need("CONF_RS_ID"), need("CONF_RS_SECRET")
KEYS_ID, KEYS_SECRET = need("CONF_KEYS_ID"), need("CONF_KEYS_SECRET")
JWT_ID, JWT_UUID = need("CONF_JWT_ID"), need("CONF_JWT_UUID")
TIMEOUT = 10
# RFC 6749 §5.2 and RFC 7009 §2.2.1 codes, and slow_down (IANA OAuth Extensions Error registry).
REGISTERED_ERRORS = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "unsupported_token_type", "slow_down",
}
# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION_CHARS = re.compile(r"[\x20-\x21\x23-\x5B\x5D-\x7E]*")

passed = failed = 0


class Failed(Exception):
    pass


def check(name):
    """Runs the decorated function at once as the check `name`."""

    def run(body):
        global passed, failed
        try:
            body()
            passed += 1
            print(f"PASS {name}", flush=True)
        except Failed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except OAuthError as e:
            failed += 1
            print(f"FAIL {name}: authlib OAuthError error={e.error}", flush=True)
        except requests.HTTPError as e:
            failed += 1
            print(f"FAIL {name}: HTTP {e.response.status_code}", flush=True)
        except Exception as e:  # noqa: BLE001 - any other failure is this check's FAIL
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {str(e)[:200]}", flush=True)

    return run


def ensure(condition, message):
    if not condition:
        raise Failed(message)


# --- helpers ----------------------------------------------------------------------------------

TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
SCHEME = re.compile(rf"\s*({TOKEN_CHARS})(?=[\s,]|$)")
PARAM = re.compile(rf'\s*({TOKEN_CHARS})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({TOKEN_CHARS}))\s*(?:,|$)')


def challenges(response):
    """RFC 7235 §4.1 WWW-Authenticate as [(scheme, {param: value})]; None when malformed."""
    header = response.headers.get("WWW-Authenticate")
    if header is None:
        return []
    found, rest = [], header
    while rest.strip(" ,"):
        scheme = SCHEME.match(rest.lstrip(" ,"))
        if not scheme:
            return None
        rest = rest.lstrip(" ,")[scheme.end():]
        params = {}
        while (param := PARAM.match(rest)) is not None:
            quoted, plain = param.group(2), param.group(3)
            params[param.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
            rest = rest[param.end():]
        found.append((scheme.group(1).lower(), params))
    return found


def expect_error(response, status, error, scheme=None):
    """RFC 6749 §5.2 (and RFC 7235 §3.1 on a 401): the status, a JSON body with the code
    (None: any registered one) and a well-formed description; on a 401 a challenge."""
    ensure(response.status_code < 500, f"HTTP {response.status_code}: a server error, not a refusal")
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("error") if isinstance(body, dict) else None
    ensure(response.status_code == status, f"HTTP {response.status_code} error={code}, expected {status} {error}")
    content_type = response.headers.get("Content-Type", "")
    ensure(content_type.startswith("application/json"), f"Content-Type {content_type}, expected application/json")
    ensure(isinstance(body, dict), "the body is not a JSON object")
    if error is not None:
        ensure(code == error, f"error={code}, expected {error}")
    ensure(code in REGISTERED_ERRORS, f"error={code} is no registered code")
    description = body.get("error_description")
    if description is not None:
        ensure(isinstance(description, str) and DESCRIPTION_CHARS.fullmatch(description),
               "error_description holds characters RFC 6749 §5.2 does not allow")
    if status == 401:
        ensure("WWW-Authenticate" in response.headers, "401 without WWW-Authenticate (RFC 7235 §3.1)")
        found = challenges(response)
        ensure(found, f"WWW-Authenticate does not parse as a challenge: {response.headers['WWW-Authenticate']}")
        if scheme:
            ensure(any(s == scheme for s, _ in found), f"challenge {[s for s, _ in found]}, expected {scheme}")
    return body


def session(client_id, secret, method="client_secret_basic", **kwargs):
    """An authlib session that keeps the raw answer of its last token request in `.last`."""
    s = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, **kwargs)
    s.last = None

    def keep(response):
        s.last = response
        return response

    s.register_compliance_hook("access_token_response", keep)
    return s


def fetch(s, **params):
    return s.fetch_token(TOKEN_URL, grant_type="client_credentials", timeout=TIMEOUT, **params)


def refused(s, **params):
    """A token request authlib must refuse: its OAuthError code and the raw answer."""
    try:
        fetch(s, **params)
    except OAuthError as e:
        return e.error, s.last
    raise Failed(f"authlib got a token (HTTP {s.last.status_code})")


def introspect(token, client=None):
    client = client or session(RS_ID, RS_SECRET)
    response = client.introspect_token(INTROSPECT_URL, token=token, timeout=TIMEOUT)
    ensure(response.status_code == 200, f"introspection answered HTTP {response.status_code}")
    return response.json()


def bogus_token():
    return "m2m_at_" + secrets.token_urlsafe(32)


def wrong(secret):
    return secret[:-4] + "AAAA"


# --- RFC 8414: metadata ------------------------------------------------------------------------

metadata = {}


@check("RFC 8414 §2 metadata members validate with authlib")
def _():
    response = requests.get(f"{ISSUER}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    ensure(response.status_code == 200, f"HTTP {response.status_code}")
    ensure(response.headers.get("Content-Type", "").startswith("application/json"), "not application/json")
    metadata.update(response.json())
    ensure(metadata.get("issuer") == ISSUER, f"issuer {metadata.get('issuer')}, expected {ISSUER}")
    document = AuthorizationServerMetadata(metadata)
    ensure(isinstance(metadata.get("response_types_supported"), list), "response_types_supported is missing")
    for key in document.REGISTRY_KEYS:
        # §2 requires response_types_supported; a server whose grants never use the
        # authorization endpoint has nothing to list in it and sends it empty (§3.2 would omit
        # an empty member, §2 forbids omitting this one). authlib's validator takes an empty
        # array for a missing one, so it judges only a non-empty array, or any array from a
        # server with a grant that does use the authorization endpoint.
        uses_authorization_endpoint = {"authorization_code", "implicit"} & set(
            metadata.get("grant_types_supported", ["authorization_code", "implicit"])
        )
        if key == "response_types_supported" and metadata[key] == [] and not uses_authorization_endpoint:
            continue
        try:
            getattr(document, f"validate_{key}")()
        except ValueError as e:
            raise Failed(f"authlib: {e}") from None


if not metadata:
    print("FAIL every other check: no metadata")
    print(f"authlib: {passed} passed, {failed + 1} failed")
    sys.exit(1)
TOKEN_URL = metadata.get("token_endpoint", f"{ISSUER}/oauth/token")
INTROSPECT_URL = metadata.get("introspection_endpoint", f"{ISSUER}/oauth/introspect")
REVOKE_URL = metadata.get("revocation_endpoint", f"{ISSUER}/oauth/revoke")


# --- RFC 6749: client authentication, token response, errors --------------------------------

basic_token = {}


@check("RFC 6749 §2.3.1 client_secret_basic is accepted")
def _():
    s = session(CLIENT_ID, SECRET, "client_secret_basic")
    basic_token.update(fetch(s))
    request = s.last.request
    ensure(request.headers.get("Authorization", "").startswith("Basic "), "authlib sent no Basic header")
    ensure("client_secret" not in request.body, "authlib also sent the secret in the body")


@check("RFC 6749 §2.3.1 client_secret_post is accepted")
def _():
    s = session(CLIENT_ID, SECRET, "client_secret_post")
    fetch(s)
    request = s.last.request
    ensure("Authorization" not in request.headers, "authlib sent an Authorization header")
    ensure("client_secret=" in request.body, "authlib sent no client_secret in the body")


@check("RFC 6749 §2.3.1 Basic and body credentials at once are refused")
def _():
    s = session(CLIENT_ID, SECRET, "client_secret_basic")
    error, response = refused(s, client_id=CLIENT_ID, client_secret=SECRET)
    request = response.request
    ensure(request.headers.get("Authorization", "").startswith("Basic ") and "client_secret=" in request.body,
           "authlib did not send both")
    # RFC 6749 §5.2: invalid_request "utilizes more than one mechanism for authenticating the client".
    expect_error(response, 400, "invalid_request")
    ensure(error == "invalid_request", f"authlib read error={error}")


@check("RFC 6749 §5.1 successful token response")
def _():
    s = session(CLIENT_ID, SECRET)
    token = fetch(s, scope="orders:read")
    response = s.last
    ensure(response.status_code == 200, f"HTTP {response.status_code}")
    ensure(response.headers.get("Content-Type", "").startswith("application/json"), "not application/json")
    body = response.json()
    ensure(isinstance(body.get("access_token"), str) and body["access_token"], "access_token missing")
    ensure(str(body.get("token_type", "")).lower() == "bearer", f"token_type {body.get('token_type')}")
    expires_in = body.get("expires_in")
    ensure(isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0, f"expires_in {expires_in}")
    ensure(body.get("scope") == "orders:read", f"scope {body.get('scope')!r} for a request of 'orders:read'")
    ensure("refresh_token" not in body, "a refresh token for client credentials (RFC 6749 §4.4.3 says SHOULD NOT)")
    ensure(token["access_token"] == body["access_token"] and token.get("expires_at"), "authlib read another token")


@check("RFC 6749 §5.1 Cache-Control: no-store and Pragma: no-cache on the token response")
def _():
    s = session(CLIENT_ID, SECRET, "client_secret_post")
    fetch(s)
    cache = s.last.headers.get("Cache-Control", "")
    ensure("no-store" in [d.strip().lower() for d in cache.split(",")], f"Cache-Control: {cache}")
    ensure(s.last.headers.get("Pragma", "").lower() == "no-cache", f"Pragma: {s.last.headers.get('Pragma')}")


@check("RFC 6749 §5.2 invalid_client with Basic: 401 and WWW-Authenticate: Basic")
def _():
    error, response = refused(session(CLIENT_ID, wrong(SECRET), "client_secret_basic"))
    expect_error(response, 401, "invalid_client", "basic")
    ensure(error == "invalid_client", f"authlib read error={error}")


@check("RFC 6749 §5.2 invalid_client with body credentials: 401 with WWW-Authenticate")
def _():
    error, response = refused(session(CLIENT_ID, wrong(SECRET), "client_secret_post"))
    expect_error(response, 401, "invalid_client")
    ensure(error == "invalid_client", f"authlib read error={error}")


@check("RFC 6749 §5.2 unsupported_grant_type")
def _():
    s = session(CLIENT_ID, SECRET)
    try:
        s.fetch_token(TOKEN_URL, grant_type="password", username="someone", password="something", timeout=TIMEOUT)
        raise Failed("authlib got a token")
    except OAuthError as e:
        expect_error(s.last, 400, "unsupported_grant_type")
        ensure(e.error == "unsupported_grant_type", f"authlib read error={e.error}")


@check("RFC 6749 §5.2 invalid_scope")
def _():
    error, response = refused(session(CLIENT_ID, SECRET), scope="orders:read inventory:delete")
    expect_error(response, 400, "invalid_scope")
    ensure(error == "invalid_scope", f"authlib read error={error}")


# --- RFC 6750: the bearer-protected resource ---------------------------------------------------


@check("RFC 6750 §2.1 a valid bearer token is accepted")
def _():
    ensure(basic_token, "no token from client_secret_basic")
    s = OAuth2Session(token=dict(basic_token))
    response = s.get(WHOAMI, timeout=TIMEOUT)
    ensure(response.request.headers.get("Authorization", "").startswith("Bearer "), "authlib sent no Bearer header")
    ensure(response.status_code == 200, f"HTTP {response.status_code}")
    ensure(response.json().get("credential", {}).get("client_id") == CLIENT_ID, "whoami names another credential")


@check('RFC 6750 §3 invalid token: 401 with WWW-Authenticate: Bearer error="invalid_token"')
def _():
    s = OAuth2Session(token={"access_token": bogus_token(), "token_type": "Bearer"})
    response = s.get(WHOAMI, timeout=TIMEOUT)
    ensure(response.status_code == 401, f"HTTP {response.status_code}")
    bearer = [p for scheme, p in (challenges(response) or []) if scheme == "bearer"]
    ensure(bearer, f"no Bearer challenge in WWW-Authenticate: {response.headers.get('WWW-Authenticate')}")
    ensure(bearer[0].get("error") == "invalid_token", f"error={bearer[0].get('error')}")


# --- RFC 7662: introspection -----------------------------------------------------------------


@check("RFC 7662 §2.1-2.2 an active token introspects active with its claims")
def _():
    token = fetch(session(CLIENT_ID, SECRET))
    before = int(time.time())
    claims = introspect(token["access_token"])
    ensure(claims.get("active") is True, f"active: {claims.get('active')}")
    ensure(claims.get("client_id") == CLIENT_ID, "client_id is not the token's client")
    ensure(claims.get("scope") == token.get("scope"), f"scope {claims.get('scope')!r}, issued {token.get('scope')!r}")
    ensure(str(claims.get("token_type", "")).lower() == "bearer", f"token_type {claims.get('token_type')}")
    exp, iat = claims.get("exp"), claims.get("iat")
    ensure(isinstance(exp, int) and exp > before, f"exp {exp}")
    ensure(isinstance(iat, int) and iat <= before + 5, f"iat {iat}")
    ensure(abs(exp - iat - token["expires_in"]) <= 2, f"exp - iat = {exp - iat}, expires_in {token['expires_in']}")
    ensure(claims.get("iss") == ISSUER, f"iss {claims.get('iss')}")


@check("RFC 7662 §2.2 an unknown token introspects inactive, with nothing else")
def _():
    claims = introspect(bogus_token())
    ensure(claims == {"active": False}, f"members: {sorted(claims)} active={claims.get('active')}")


@check("RFC 7662 §2.3 a caller with a wrong secret gets 401")
def _():
    response = session(RS_ID, wrong(RS_SECRET)).introspect_token(INTROSPECT_URL, token=bogus_token(), timeout=TIMEOUT)
    expect_error(response, 401, "invalid_client", "basic")


@check("RFC 7662 §2.1, §4 an unauthenticated caller is refused")
def _():
    token = fetch(session(CLIENT_ID, SECRET))
    response = requests.post(INTROSPECT_URL, data={"token": token["access_token"]}, timeout=TIMEOUT)
    body = expect_error(response, 401, "invalid_client")
    ensure("active" not in body, "the refusal tells whether the token is active")


# --- RFC 7009: revocation ----------------------------------------------------------------------

revoked = []


@check("RFC 7009 §2.1-2.2 revoking a valid token answers 200")
def _():
    s = session(CLIENT_ID, SECRET)
    token = fetch(s)
    response = s.revoke_token(REVOKE_URL, token=token["access_token"], token_type_hint="access_token", timeout=TIMEOUT)
    ensure(response.status_code == 200, f"HTTP {response.status_code}")
    revoked.append(token["access_token"])


@check("RFC 7009 §2.2 the revoked token introspects inactive and is refused as a bearer token")
def _():
    ensure(revoked, "no token was revoked")
    claims = introspect(revoked[0])
    ensure(claims.get("active") is False, f"active: {claims.get('active')}")
    response = OAuth2Session(token={"access_token": revoked[0], "token_type": "Bearer"}).get(WHOAMI, timeout=TIMEOUT)
    ensure(response.status_code == 401, f"whoami answered HTTP {response.status_code}")


@check("RFC 7009 §2.2 revoking an unknown token answers 200")
def _():
    s = session(CLIENT_ID, SECRET)
    for token in (bogus_token(), "not-even-one-of-our-tokens"):
        response = s.revoke_token(REVOKE_URL, token=token, timeout=TIMEOUT)
        ensure(response.status_code == 200, f"HTTP {response.status_code}")


@check("RFC 7009 §2.1 an unauthenticated revocation is refused")
def _():
    token = fetch(session(CLIENT_ID, SECRET))
    response = requests.post(REVOKE_URL, data={"token": token["access_token"]}, timeout=TIMEOUT)
    expect_error(response, 401, "invalid_client")
    ensure(introspect(token["access_token"]).get("active") is True, "the token is no longer active")


# --- RFC 7638, RFC 7523, RFC 7521: private_key_jwt and key registration, in authlib_keys.py ---

authlib_keys.run(sys.modules[__name__])


print(f"authlib: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
