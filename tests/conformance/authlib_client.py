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
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import uuid

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey


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
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
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


# --- RFC 7523 / RFC 7521: private_key_jwt with an RS256 key -----------------------------------


def rsa_key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """authlib's PrivateKeyJWT, with assertions that live 60 s instead of its default hour
    (a server may refuse an exp that far ahead: RFC 7523 §3 item 4). Each assertion still
    gets a fresh jti from authlib."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            RSAKey.import_key(auth.client_secret), client_id=auth.client_id,
            token_endpoint=token_endpoint, header=self.headers, alg=self.alg, expires_in=60,
        )


def jwt_session(audience=None):
    """A private_key_jwt session; the assertion's aud is `audience`, or else the URL called."""
    s = session(JWT_ID, PRIVATE_PEM, "private_key_jwt", revocation_endpoint_auth_method="private_key_jwt")
    s.register_client_auth_method(ShortLivedPrivateKeyJWT(audience))
    return s


def management(method, path, body=None):
    access = fetch(session(KEYS_ID, KEYS_SECRET), scope="m2m.credentials:read m2m.credentials:rotate")
    return requests.request(method, f"{ISSUER}/api/v1{path}", json=body, timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {access['access_token']}"})


def assertion(private_pem=None, issuer=None, audience=None, issued_at=None, expires_at=None, jti=None):
    """A client assertion signed by authlib (RS256), each claim overridable."""
    now = int(time.time())
    issuer = issuer or JWT_ID
    claims = {"jti": jti or uuid.uuid4().hex, "exp": expires_at or now + 60, "iat": issued_at or now}
    return private_key_jwt_sign(RSAKey.import_key(private_pem or PRIVATE_PEM), client_id=issuer,
                                token_endpoint=audience or TOKEN_URL, claims=claims, alg="RS256")


def b64u(data):
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_with(client_assertion, client_id=None):
    """A token request authenticated by `client_assertion` alone (client_id omitted unless
    given, as RFC 7521 §4.2 allows)."""
    data = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion}
    if client_id:
        data["client_id"] = client_id
    return requests.post(TOKEN_URL, data=data, timeout=TIMEOUT)


PRIVATE_PEM, PUBLIC_PEM = rsa_key()
registered = {}
problem = ["the key was not registered"]


@check("RFC 7638 §3 a registered RS256 key (PEM) gets its JWK thumbprint as kid")
def _():
    response = management("POST", f"/credentials/{JWT_UUID}/keys", {"public_key": PUBLIC_PEM, "expires_at": None})
    if response.status_code != 201:
        try:
            title = response.json().get("title", "no problem title")
        except ValueError:
            title = "no problem title"
        # Tells a missing route from a management token that may not call the API.
        probe = management("GET", f"/credentials/{JWT_UUID}")
        problem[0] = (f"POST /api/v1/credentials/{{id}}/keys answered {response.status_code} ({title}; "
                      f"GET /api/v1/credentials/{{id}} with the same token answered {probe.status_code})")
        raise Failed(problem[0])
    body = response.json()
    registered.update(body)
    ensure(body.get("kid") == RSAKey.import_key(PUBLIC_PEM).thumbprint(), "kid is not the RFC 7638 thumbprint of the key")
    ensure(body.get("algorithm") == "RS256", f"algorithm {body.get('algorithm')}")


accepted = []


def require_accepted():
    """A refusal proves something only when the same key's well-formed assertion is accepted."""
    ensure(registered, problem[0])
    ensure(accepted, "refused, but so was a well-formed assertion from the same key")


jwt_token = {}


@check("RFC 7523 §3, RFC 7521 §4.2 authlib PrivateKeyJWT (RS256) gets a token that introspects active")
def _():
    ensure(registered, problem[0])
    s = jwt_session(TOKEN_URL)
    jwt_token.update(fetch(s))
    ensure("client_assertion=" in s.last.request.body, "authlib sent no assertion")
    claims = introspect(jwt_token["access_token"])
    ensure(claims.get("active") is True and claims.get("client_id") == JWT_ID, "the token does not introspect active")
    accepted.append(True)


@check("RFC 7521 §4.2 private_key_jwt authenticates an introspection (aud: the introspection endpoint)")
def _():
    ensure(jwt_token, "no token from private_key_jwt")
    claims = introspect(jwt_token["access_token"], client=jwt_session())
    ensure(claims.get("active") is True, f"active: {claims.get('active')}")


@check("RFC 7521 §4.2 private_key_jwt authenticates a revocation (aud: the revocation endpoint)")
def _():
    s = jwt_session()
    token = fetch(s)
    response = s.revoke_token(REVOKE_URL, token=token["access_token"], timeout=TIMEOUT)
    ensure(response.status_code == 200, f"HTTP {response.status_code}")
    ensure(introspect(token["access_token"]).get("active") is False, "the token is still active")


@check("RFC 7523 §3 item 7 a replayed jti is refused with invalid_client")
def _():
    once = assertion()
    first = token_with(once)
    ensure(first.status_code == 200, f"the first use answered HTTP {first.status_code}")
    expect_error(token_with(once), 401, "invalid_client")


@check("RFC 7523 §3 item 3 a wrong aud is refused with invalid_client")
def _():
    expect_error(token_with(assertion(audience="https://attacker.example/oauth/token")), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 4 an expired assertion is refused with invalid_client")
def _():
    now = int(time.time())
    expect_error(token_with(assertion(issued_at=now - 600, expires_at=now - 300)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 4 an exp a day ahead is refused with invalid_client")
def _():
    expect_error(token_with(assertion(expires_at=int(time.time()) + 86400)), 401, "invalid_client")
    require_accepted()


def claims_for(client_id):
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}


@check("RFC 7521 §4.2, RFC 7523 §3 item 9 alg none is refused with invalid_client")
def _():
    unsigned = f"{b64u({'alg': 'none', 'typ': 'JWT'})}.{b64u(claims_for(JWT_ID))}."
    expect_error(token_with(unsigned), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 9 HS256 keyed with the public key is refused with invalid_client")
def _():
    # The classic algorithm confusion: the registered PEM used as an HMAC secret.
    signing_input = f"{b64u({'alg': 'HS256', 'typ': 'JWT'})}.{b64u(claims_for(JWT_ID))}"
    mac = hmac.new(PUBLIC_PEM.encode(), signing_input.encode(), hashlib.sha256).digest()
    expect_error(token_with(f"{signing_input}.{b64u(mac)}"), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 9 an unknown key is refused with invalid_client")
def _():
    stranger, _public = rsa_key()
    expect_error(token_with(assertion(private_pem=stranger)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 items 1-2 another credential's client ID as iss and sub is refused with invalid_client")
def _():
    # This script's secret-based credential has no key; the assertion is signed with the key
    # of the private_key_jwt credential.
    expect_error(token_with(assertion(issuer=CLIENT_ID)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 a removed key stops working on the next request")
def _():
    ensure(registered, problem[0])
    fetch(jwt_session(TOKEN_URL))  # it works just before
    response = management("DELETE", f"/credentials/{JWT_UUID}/keys/{registered['id']}")
    ensure(response.status_code == 204, f"DELETE .../keys/{{key_id}} answered {response.status_code}")
    expect_error(token_with(assertion()), 401, "invalid_client")


print(f"authlib: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
