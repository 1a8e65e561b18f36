#!/usr/bin/env python3
"""Interop harness over the OpenWallet Foundation SD-JWT reference implementation
(PyPI `sd-jwt`, pinned in requirements.txt). Reads one JSON request on stdin, writes one
JSON answer on stdout.

    python3 sdjwt_py.py verify  {"sdjwt", "issuer_jwk", "kb": {"aud", "nonce"} | null, "now"?}
      -> {"ok": true, "payload": {...}} | {"ok": false, "error": "..."}

The reference verifier checks the issuer signature, the digests and, with `kb`, the KB-JWT
signature (by `cnf.jwk`), `typ`, `aud`, `nonce` and `sd_hash`. It checks neither `exp`/`nbf`
nor the KB-JWT `iat`, so `now` is accepted and ignored; and it ignores a disclosure that
no digest references instead of refusing it (RFC 9901 §7.1 step 5 says reject). A refused credential is an answer
(exit code 0); only a harness failure exits non-zero.
"""

import json
import sys

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier


def verify(request):
    sdjwt = request["sdjwt"]
    issuer_key = JWK.from_json(json.dumps(request["issuer_jwk"]))
    kb = request.get("kb")
    try:
        verifier = SDJWTVerifier(
            sdjwt,
            lambda _iss, _header: issuer_key,
            expected_aud=kb["aud"] if kb else None,
            expected_nonce=kb["nonce"] if kb else None,
        )
        return {"ok": True, "payload": verifier.get_verified_payload()}
    except Exception as e:  # the library raises ValueError, JWException, KeyError...
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


COMMANDS = {"verify": verify}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(f"usage: python3 sdjwt_py.py <{'|'.join(COMMANDS)}> < request.json\n")
        sys.exit(2)
    request = json.load(sys.stdin)
    answer = COMMANDS[sys.argv[1]](request)
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
