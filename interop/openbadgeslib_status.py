"""openbadgeslib's Open Badges 3.0 status check (Bitstring Status List) on our `ldp_vc`
badges: the strict form (`verify_list=True`), which verifies the list credential's
VC-JWT with its issuer's did:web key and requires the list's issuer to be the badge's.

stdin: {"credentials": [<ldp_vc JSON>...], "pngs": ["<base64 baked PNG>"...]}
stdout: {"results": [{"ok": true} | {"ok": false, "error": "..."}, ...]} in that order.

The services of a journey speak plain http on 127.0.0.1, while openbadgeslib resolves
did:web over https: `download` fetches `https://127.0.0.1:<port>/…` over http, and
nothing else.
"""

import base64
import json
import sys
import urllib.request

from openbadgeslib.baking import ITXT_KEYWORD_OB3, extract_png
from openbadgeslib.ob3.credential import OpenBadgeCredential
from openbadgeslib.ob3.status import check_credential_status
from openbadgeslib.ob3.verifier import OB3VerificationError


def download(url):
    if url.startswith("https://127.0.0.1:"):
        url = "http://" + url[len("https://"):]
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("a journey fetches only from its loopback services: %s" % url)
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def status(document):
    try:
        credential = OpenBadgeCredential.from_vc_document(document)
        check_credential_status(credential, download, verify_list=True)
        return {"ok": True}
    except OB3VerificationError as exc:
        return {"ok": False, "error": str(exc)}


def main():
    request = json.load(sys.stdin)
    results = [status(c) for c in request.get("credentials", [])]
    for png in request.get("pngs", []):
        token = extract_png(base64.b64decode(png), keyword=ITXT_KEYWORD_OB3)
        if token is None:
            results.append({"ok": False, "error": "no baked credential in the PNG"})
        else:
            results.append(status(json.loads(token)))
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
