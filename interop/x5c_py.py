"""Checks JOSE `x5c` chains with pyca/cryptography, an implementation independent of
Akashi's X.509 and ECDSA code (HAIP 1.0 §6.1 issuer-key resolution).

stdin: {"ca": "<PEM of the trust anchor>", "jwts": ["<compact JWS>", ...]}
stdout: {"results": [{"x5c": n, "issued_by_ca": bool, "ca_is_ca": bool, "valid_now": bool,
                      "dns": [...], "uris": [...], "signature": bool}, ...]}
"""

import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check(ca, jwt):
    h, p, s = jwt.split(".")
    header = json.loads(b64url(h))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header.get("x5c", [])]
    out = {"x5c": len(chain), "alg": header.get("alg")}
    if not chain:
        return out
    leaf = chain[0]
    try:
        leaf.verify_directly_issued_by(ca)
        out["issued_by_ca"] = True
    except (ValueError, TypeError, InvalidSignature):
        out["issued_by_ca"] = False
    out["ca_is_ca"] = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    now = datetime.datetime.now(datetime.timezone.utc)
    out["valid_now"] = leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    out["dns"] = san.get_values_for_type(x509.DNSName)
    out["uris"] = san.get_values_for_type(x509.UniformResourceIdentifier)
    signature = b64url(s)
    r = int.from_bytes(signature[:32], "big")
    v = int.from_bytes(signature[32:], "big")
    try:
        leaf.public_key().verify(
            utils.encode_dss_signature(r, v), f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())
        )
        out["signature"] = True
    except InvalidSignature:
        out["signature"] = False
    return out


def main():
    request = json.load(sys.stdin)
    ca = x509.load_pem_x509_certificate(request["ca"].encode())
    json.dump({"results": [check(ca, jwt) for jwt in request["jwts"]]}, sys.stdout)


if __name__ == "__main__":
    main()
