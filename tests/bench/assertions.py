"""Signs client assertions for the private_key_jwt measurement of tests/bench/run.sh.

Usage: python3 tests/bench/assertions.py CLIENT_ID AUDIENCE COUNT OUT_FILE
Makes a fresh P-256 key, prints its public JWK on stdout (to be added to the credential), and
writes COUNT form bodies to OUT_FILE, one per line, each a token request with an ES256
assertion of its own jti, valid for four minutes. Uses `cryptography` (the machine's Python
has it; the bench needs nothing else).
"""
import base64
import json
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from urllib.parse import quote


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    client_id, audience, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256",
           "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}
    header = b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    now = int(time.time())
    kind = quote("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", safe="")
    with open(out, "w") as f:
        for _ in range(count):
            claims = {"iss": client_id, "sub": client_id, "aud": audience,
                      "iat": now, "exp": now + 240, "jti": str(uuid.uuid4())}
            signing_input = header + "." + b64(json.dumps(claims).encode())
            r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            jws = signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            f.write(f"grant_type=client_credentials&client_assertion_type={kind}&client_assertion={jws}\n")
    print(json.dumps(jwk))


if __name__ == "__main__":
    main()
