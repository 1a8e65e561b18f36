#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/corpus/<target>/: a few valid inputs per target.

Run once from anywhere (python3 with `cryptography`, `qrcode` and `pillow`); the output is
committed, so the fuzzers and protocol/tests/fuzz_corpus.rs never need this script. The JWE
seeds are encrypted to shared::fuzzing::jwe_key() (the fixed P-256 scalar 0x42…42), so
that the fuzzer starts from inputs that decrypt.
"""

import base64
import hashlib
import io
import json
import os
import urllib.parse

import qrcode
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
RFC = os.path.join(HERE, "..", "shared", "testdata", "rfc9901")


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_json(value):
    return json.dumps(value, separators=(",", ":")).encode()


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def ec_jwk(public):
    n = public.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64(n.x.to_bytes(32, "big")),
            "y": b64(n.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    canonical = '{"crv":"%s","kty":"%s","x":"%s","y":"%s"}' % (
        jwk["crv"], jwk["kty"], jwk["x"], jwk["y"])
    return b64(hashlib.sha256(canonical.encode()).digest())


def es256(header, payload, key):
    signing_input = b64(compact_json(header)) + "." + b64(compact_json(payload))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def base58(data):
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def concat_kdf(z, enc, apu, apv, key_len):
    def lp(b):
        return len(b).to_bytes(4, "big") + b
    other = lp(enc.encode()) + lp(apu) + lp(apv) + (key_len * 8).to_bytes(4, "big")
    return hashlib.sha256((1).to_bytes(4, "big") + z + other).digest()[:key_len]


def jwe(payload, recipient, kid, enc, apu=b"", apv=b""):
    eph = ec.generate_private_key(ec.SECP256R1())
    z = eph.exchange(ec.ECDH(), recipient)
    header = {"alg": "ECDH-ES", "enc": enc, "kid": kid, "epk": ec_jwk(eph.public_key())}
    if apu:
        header["apu"] = b64(apu)
    if apv:
        header["apv"] = b64(apv)
    h = b64(compact_json(header))
    cek = concat_kdf(z, enc, apu, apv, 16 if enc == "A128GCM" else 32)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, payload, h.encode())
    return f"{h}..{b64(iv)}.{b64(sealed[:-16])}.{b64(sealed[-16:])}"


def main():
    # sd_jwt: the RFC 9901 examples (with and without KB-JWT, nested and array disclosures).
    for name in ["section-5.1-sd-jwt.txt", "section-5.2-sd-jwt-kb.txt",
                 "appendix-a.3-sd-jwt-kb.txt"]:
        with open(os.path.join(RFC, name), "rb") as f:
            write("sd_jwt", name.replace(".txt", ""), f.read().strip())

    # jws: a JWT with a `jwk` header, did:jwk and did:key `kid`s, an EdDSA one, and the
    # RFC's issuer-signed JWT.
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = ec_jwk(key.public_key())
    claims = {"iss": "https://issuer.example", "iat": 1700000000, "exp": 1800000000.5,
              "nonce": "n-0S6_WzA2Mj", "vc": {"type": ["VerifiableCredential"]}}
    write("jws", "jwk-header", es256(
        {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}, claims, key))
    did_jwk = "did:jwk:" + b64(compact_json(jwk))
    write("jws", "did-jwk-kid", es256({"alg": "ES256", "typ": "JWT", "kid": did_jwk + "#0"},
                                      claims, key))
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.CompressedPoint)
    did_key = "did:key:z" + base58(b"\x80\x24" + point)
    write("jws", "did-key-kid", es256(
        {"alg": "ES256", "typ": "kb+jwt", "kid": did_key + "#" + did_key[8:]}, claims, key))
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_x = ed.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    header = {"alg": "EdDSA", "typ": "JWT",
              "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(ed_x)}}
    signing_input = b64(compact_json(header)) + "." + b64(compact_json(claims))
    write("jws", "eddsa", signing_input + "." + b64(ed.sign(signing_input.encode())))
    with open(os.path.join(RFC, "section-5.1-sd-jwt.txt")) as f:
        write("jws", "rfc9901-issuer-jwt", f.read().strip().split("~")[0])

    # jwe: encrypted direct_post.jwt responses to the fixed key.
    recipient = ec.derive_private_key(int.from_bytes(b"\x42" * 32, "big"), ec.SECP256R1())
    kid = thumbprint(ec_jwk(recipient.public_key()))
    response = compact_json({"vp_token": {"badge": ["eyJ.eyJ.sig~WyJzIiwibiIsInYiXQ~"]},
                             "state": "b3f1c2"})
    write("jwe", "a256gcm", jwe(response, recipient.public_key(), kid, "A256GCM"))
    write("jwe", "a128gcm-apu-apv",
          jwe(response, recipient.public_key(), kid, "A128GCM", b"wallet", b"n-0S6_WzA2Mj"))

    # dcql: OpenID4VP §6 queries, as the verifier's templates and the spec's examples make.
    write("dcql", "sd-jwt-badge", compact_json({"credentials": [{
        "id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://issuer.example/vct/badge"]},
        "claims": [{"path": ["ld", "credentialSubject", "achievement", "name"]},
                   {"path": ["ld", "issuer", "name"]}]}]}))
    write("dcql", "claim-sets-credential-sets", compact_json({
        "credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://issuer.example/vct/badge"]},
             "multiple": True,
             "claims": [{"id": "n", "path": ["ld", "credentialSubject", "name"]},
                        {"id": "r", "path": ["ld", "credentialSubject", "result", None, "value"],
                         "values": ["A", "B"]},
                        {"id": "t", "path": ["tags", 1], "values": [2.5, True, 1]}],
             "claim_sets": [["n", "r"], ["t"]],
             "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]},
            {"id": "b", "format": "ldp_vc",
             "meta": {"type_values": [["https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"]]},
             "require_cryptographic_holder_binding": False,
             "claims": [{"path": ["issuer", "id"], "values": ["https://issuer.example"]}]},
            {"id": "c", "format": "jwt_vc_json",
             "meta": {"type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential"]]}}],
        "credential_sets": [{"options": [["a"], ["b", "c"]]},
                            {"options": [["c"]], "required": False}]}))
    write("dcql", "mdoc", compact_json({"credentials": [{
        "id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"},
        "claims": [{"path": ["org.iso.18013.5.1", "family_name"], "intent_to_retain": False}]}]}))

    # offer_uri: by value (both grants, tx_code), by reference, an https wallet link.
    offer = {"credential_issuer": "https://issuer.example",
             "credential_configuration_ids": ["badge_sd_jwt", "badge_ldp"],
             "grants": {"authorization_code": {"issuer_state": "s-1"},
                        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                            "pre-authorized_code": "adhjhdjajkdkhjhdj",
                            "tx_code": {"input_mode": "numeric", "length": 6,
                                        "description": "PIN from the e-mail"}}}}
    q = urllib.parse.quote(json.dumps(offer, separators=(",", ":")), safe="")
    write("offer_uri", "by-value", "openid-credential-offer://?credential_offer=" + q)
    write("offer_uri", "by-reference", "openid-credential-offer://?credential_offer_uri="
          + urllib.parse.quote("https://issuer.example/offers/7f3a", safe=""))
    write("offer_uri", "https-wallet", "https://wallet.example/receive?credential_offer_uri="
          + urllib.parse.quote("http://127.0.0.1:8080/offers/1", safe=""))

    # request_uri: by reference (get, post), by value, and plain parameters with a DCQL query.
    base = "openid4vp://?client_id=" + urllib.parse.quote(
        "decentralized_identifier:did:web:verify.example.org", safe="")
    ref = "&request_uri=" + urllib.parse.quote("https://verify.example.org/oid4vp/req/7f3a", safe="")
    write("request_uri", "by-reference", base + ref)
    write("request_uri", "by-reference-post",
          "https://wallet.example/present?client_id=x509_san_dns%3Av.example" + ref
          + "&request_uri_method=post")
    write("request_uri", "by-value", "openid4vp://?client_id=x509_san_dns%3Av.example&request=a.b.c")
    params = {"client_id": "redirect_uri:https://v.example/post", "response_type": "vp_token",
              "response_mode": "direct_post", "response_uri": "https://v.example/post",
              "nonce": "abc", "state": "s",
              "dcql_query": json.dumps({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                                                         "meta": {"vct_values": ["v"]}}]}),
              "client_metadata": json.dumps({"vp_formats_supported": {"dc+sd-jwt": {}}})}
    write("request_uri", "plain", "openid4vp://?" + urllib.parse.urlencode(params))

    # ob3_json: the ob3.md §8 example, a hashed identifier with results and status, a profile.
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Digital Supporter — Level 1",
        "issuer": {"id": "did:web:badges.example.org", "type": ["Profile"],
                   "name": "Example Skills Agency", "url": "https://badges.example.org"},
        "validFrom": "2026-03-01T09:00:00Z",
        "credentialSubject": {
            "id": "did:jwk:eyJrdHkiOiJFQyJ9",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://badges.example.org/achievements/digital-supporter-1",
                "type": ["Achievement"], "name": "Digital Supporter — Level 1",
                "description": "Helps citizens use public digital services.",
                "criteria": {"narrative": "Completed the 6-hour course."},
                "image": {"id": "https://badges.example.org/img/ds1.png", "type": "Image"}}},
        "credentialSchema": [{
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019"}],
        "proof": [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                   "created": "2026-03-01T09:00:00Z", "proofPurpose": "assertionMethod",
                   "verificationMethod": "did:web:badges.example.org#key-1",
                   "proofValue": "z3FXQ"}]}
    write("ob3_json", "spec-example", compact_json(credential))
    credential = json.loads(json.dumps(credential))
    del credential["proof"]
    credential["validUntil"] = "2030-01-01T00:00:00Z"
    credential["issuer"] = "https://badges.example.org"
    credential["credentialSubject"]["identifier"] = [{
        "type": "IdentityObject", "hashed": True, "identityType": "emailAddress",
        "identityHash": "sha256$" + hashlib.sha256(b"ana@example.orgsalt").hexdigest(),
        "salt": "salt"}]
    credential["credentialSubject"]["result"] = [{"type": ["Result"], "value": "A"}]
    credential["evidence"] = [{"type": ["Evidence"], "narrative": "Portfolio"}]
    credential["credentialStatus"] = {
        "id": "https://badges.example.org/status/1#48213", "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "48213",
        "statusListCredential": "https://badges.example.org/status/1"}
    write("ob3_json", "status-identifier-result", compact_json(credential))
    write("ob3_json", "profile", compact_json({
        "id": "https://badges.example.org", "type": ["Profile"], "name": "Agency",
        "email": "badges@example.org", "image": {"id": "https://x.example/i.png", "type": "Image"}}))

    # qr_image: a small PNG (grey, and RGBA) and a JPEG of a verifier's link.
    link = ("openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Av.example"
            "&request_uri=https%3A%2F%2Fv.example%2Fr%2F1")
    img = qrcode.make(link, box_size=3, border=2).get_image().convert("L")
    for name, image, fmt, opts in [
        ("link-grey.png", img, "PNG", {"optimize": True}),
        ("link-rgba.png", img.convert("RGBA"), "PNG", {"optimize": True}),
        ("link.jpg", img, "JPEG", {"quality": 40}),
    ]:
        out = io.BytesIO()
        image.save(out, fmt, **opts)
        write("qr_image", name, out.getvalue())


if __name__ == "__main__":
    main()
