"""private_key_jwt and key registration checks driven by authlib: RFC 7638, RFC 7523, RFC 7521.

Imported by authlib_client.py, the script run.sh runs, which calls run(itself) after its
secret-based checks. The checks below are registered in order at import and run by run()
through that script's check(), so their PASS/FAIL lines and counts join its own and its total.
Its helpers (check, ensure, expect_error, session, fetch, introspect) and settings (ISSUER,
TOKEN_URL, REVOKE_URL, CLIENT_ID, KEYS_ID/_SECRET, JWT_ID/_UUID) are read off it as `c.…`:
nothing is duplicated here. The same rule holds: nothing secret is printed.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import requests
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
c = None  # the authlib_client module, set by run()
CHECKS = []


def check(name):
    """Registers the decorated function as the check `name`; run() runs them in order."""

    def register(body):
        CHECKS.append((name, body))
        return body

    return register


def run(client):
    """Runs every check of this module, in order, as checks of `client` (authlib_client)."""
    global c
    c = client
    for name, body in CHECKS:
        c.check(name)(body)


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
    s = c.session(c.JWT_ID, PRIVATE_PEM, "private_key_jwt", revocation_endpoint_auth_method="private_key_jwt")
    s.register_client_auth_method(ShortLivedPrivateKeyJWT(audience))
    return s


def management(method, path, body=None):
    access = c.fetch(c.session(c.KEYS_ID, c.KEYS_SECRET), scope="m2m.credentials:read m2m.credentials:rotate")
    return requests.request(method, f"{c.ISSUER}/api/v1{path}", json=body, timeout=c.TIMEOUT,
                            headers={"Authorization": f"Bearer {access['access_token']}"})


def assertion(private_pem=None, issuer=None, audience=None, issued_at=None, expires_at=None, jti=None):
    """A client assertion signed by authlib (RS256), each claim overridable."""
    now = int(time.time())
    issuer = issuer or c.JWT_ID
    claims = {"jti": jti or uuid.uuid4().hex, "exp": expires_at or now + 60, "iat": issued_at or now}
    return private_key_jwt_sign(RSAKey.import_key(private_pem or PRIVATE_PEM), client_id=issuer,
                                token_endpoint=audience or c.TOKEN_URL, claims=claims, alg="RS256")


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
    return requests.post(c.TOKEN_URL, data=data, timeout=c.TIMEOUT)


PRIVATE_PEM, PUBLIC_PEM = rsa_key()
registered = {}
problem = ["the key was not registered"]


@check("RFC 7638 §3 a registered RS256 key (PEM) gets its JWK thumbprint as kid")
def _():
    response = management("POST", f"/credentials/{c.JWT_UUID}/keys", {"public_key": PUBLIC_PEM, "expires_at": None})
    if response.status_code != 201:
        try:
            title = response.json().get("title", "no problem title")
        except ValueError:
            title = "no problem title"
        # Tells a missing route from a management token that may not call the API.
        probe = management("GET", f"/credentials/{c.JWT_UUID}")
        problem[0] = (f"POST /api/v1/credentials/{{id}}/keys answered {response.status_code} ({title}; "
                      f"GET /api/v1/credentials/{{id}} with the same token answered {probe.status_code})")
        raise c.Failed(problem[0])
    body = response.json()
    registered.update(body)
    c.ensure(body.get("kid") == RSAKey.import_key(PUBLIC_PEM).thumbprint(), "kid is not the RFC 7638 thumbprint of the key")
    c.ensure(body.get("algorithm") == "RS256", f"algorithm {body.get('algorithm')}")


accepted = []


def require_accepted():
    """A refusal proves something only when the same key's well-formed assertion is accepted."""
    c.ensure(registered, problem[0])
    c.ensure(accepted, "refused, but so was a well-formed assertion from the same key")


jwt_token = {}


@check("RFC 7523 §3, RFC 7521 §4.2 authlib PrivateKeyJWT (RS256) gets a token that introspects active")
def _():
    c.ensure(registered, problem[0])
    s = jwt_session(c.TOKEN_URL)
    jwt_token.update(c.fetch(s))
    c.ensure("client_assertion=" in s.last.request.body, "authlib sent no assertion")
    claims = c.introspect(jwt_token["access_token"])
    c.ensure(claims.get("active") is True and claims.get("client_id") == c.JWT_ID, "the token does not introspect active")
    accepted.append(True)


@check("RFC 7521 §4.2 private_key_jwt authenticates an introspection (aud: the introspection endpoint)")
def _():
    c.ensure(jwt_token, "no token from private_key_jwt")
    claims = c.introspect(jwt_token["access_token"], client=jwt_session())
    c.ensure(claims.get("active") is True, f"active: {claims.get('active')}")


@check("RFC 7521 §4.2 private_key_jwt authenticates a revocation (aud: the revocation endpoint)")
def _():
    s = jwt_session()
    token = c.fetch(s)
    response = s.revoke_token(c.REVOKE_URL, token=token["access_token"], timeout=c.TIMEOUT)
    c.ensure(response.status_code == 200, f"HTTP {response.status_code}")
    c.ensure(c.introspect(token["access_token"]).get("active") is False, "the token is still active")


@check("RFC 7523 §3 item 7 a replayed jti is refused with invalid_client")
def _():
    once = assertion()
    first = token_with(once)
    c.ensure(first.status_code == 200, f"the first use answered HTTP {first.status_code}")
    c.expect_error(token_with(once), 401, "invalid_client")


@check("RFC 7523 §3 item 3 a wrong aud is refused with invalid_client")
def _():
    c.expect_error(token_with(assertion(audience="https://attacker.example/oauth/token")), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 4 an expired assertion is refused with invalid_client")
def _():
    now = int(time.time())
    c.expect_error(token_with(assertion(issued_at=now - 600, expires_at=now - 300)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 4 an exp a day ahead is refused with invalid_client")
def _():
    c.expect_error(token_with(assertion(expires_at=int(time.time()) + 86400)), 401, "invalid_client")
    require_accepted()


def claims_for(client_id):
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": c.TOKEN_URL, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}


@check("RFC 7521 §4.2, RFC 7523 §3 item 9 alg none is refused with invalid_client")
def _():
    unsigned = f"{b64u({'alg': 'none', 'typ': 'JWT'})}.{b64u(claims_for(c.JWT_ID))}."
    c.expect_error(token_with(unsigned), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 9 HS256 keyed with the public key is refused with invalid_client")
def _():
    # The classic algorithm confusion: the registered PEM used as an HMAC secret.
    signing_input = f"{b64u({'alg': 'HS256', 'typ': 'JWT'})}.{b64u(claims_for(c.JWT_ID))}"
    mac = hmac.new(PUBLIC_PEM.encode(), signing_input.encode(), hashlib.sha256).digest()
    c.expect_error(token_with(f"{signing_input}.{b64u(mac)}"), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 item 9 an unknown key is refused with invalid_client")
def _():
    stranger, _public = rsa_key()
    c.expect_error(token_with(assertion(private_pem=stranger)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 items 1-2 another credential's client ID as iss and sub is refused with invalid_client")
def _():
    # authlib_client.py's secret-based credential has no key; the assertion is signed with the
    # key of the private_key_jwt credential.
    c.expect_error(token_with(assertion(issuer=c.CLIENT_ID)), 401, "invalid_client")
    require_accepted()


@check("RFC 7523 §3 a removed key stops working on the next request")
def _():
    c.ensure(registered, problem[0])
    c.fetch(jwt_session(c.TOKEN_URL))  # it works just before
    response = management("DELETE", f"/credentials/{c.JWT_UUID}/keys/{registered['id']}")
    c.ensure(response.status_code == 204, f"DELETE .../keys/{{key_id}} answered {response.status_code}")
    c.expect_error(token_with(assertion()), 401, "invalid_client")
