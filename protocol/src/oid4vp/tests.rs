//! OpenID4VP examples: the digest's request object (oid4vp.md §7), client ids, wallet
//! links, response forms, and DCQL examples equivalent to the spec's §6.4 / Appendix D
//! ones (`claim_sets`, `credential_sets`, `values`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::dcql::*;
use super::*;
use crate::keys::{Alg, SigningKey};

fn example_request() -> Value {
    json!({
      "client_id": "decentralized_identifier:did:web:verify.example.org",
      "response_type": "vp_token",
      "response_mode": "direct_post.jwt",
      "response_uri": "https://verify.example.org/oid4vp/response",
      "nonce": "n-0S6_WzA2Mj",
      "state": "b3f1c2",
      "aud": "https://self-issued.me/v2",
      "dcql_query": {"credentials": [{
        "id": "badge",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://badges.example.org/vct/open-badge-v3"]},
        "claims": [
          {"path": ["ld", "credentialSubject", "achievement", "name"]},
          {"path": ["ld", "issuer", "name"]}]}]},
      "client_metadata": {
        "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "use": "enc", "alg": "ECDH-ES",
                           "kid": "e1", "x": "…", "y": "…"}]},
        "encrypted_response_enc_values_supported": ["A128GCM", "A256GCM"],
        "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"],
                                                "kb-jwt_alg_values": ["ES256"]}}}
    })
}

#[test]
fn request_object_example_round_trips() {
    let req: AuthorizationRequest = serde_json::from_value(example_request()).unwrap();
    req.validate().unwrap();
    assert_eq!(req.effective_response_mode(), ResponseMode::DirectPostJwt);
    assert!(
        matches!(req.client_id.prefix(), ClientIdPrefix::DecentralizedIdentifier(d) if d == "did:web:verify.example.org")
    );
    assert_eq!(serde_json::to_value(&req).unwrap(), example_request());

    let key = SigningKey::generate(Alg::ES256);
    let jwt = sign_request_object(&req, &key, Some("did:web:verify.example.org#key-1"));
    let (jws, back) = decode_request_object(&jwt).unwrap();
    jws.verify(
        &crate::keys::Signer::public_jwk(&key)
            .verifying_key()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(jws.kid(), Some("did:web:verify.example.org#key-1"));
    assert_eq!(back, req);
    check_client_id("decentralized_identifier:did:web:verify.example.org", &back).unwrap();
    assert!(matches!(
        check_client_id("did:web:verify.example.org", &back),
        Err(RequestError::ClientIdMismatch { .. })
    ));
    let plain_jwt = crate::jose::Jws::sign(crate::jose::header("JWT", None), &req, &key);
    assert!(matches!(
        decode_request_object(&plain_jwt),
        Err(RequestError::Jose(_))
    ));
}

#[test]
fn request_rules() {
    let with = |patch: Value| -> Result<(), RequestError> {
        let mut v = example_request();
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        serde_json::from_value::<AuthorizationRequest>(v)
            .unwrap()
            .validate()
    };
    assert_eq!(
        with(json!({"dcql_query": null})),
        Err(RequestError::NoQuery)
    );
    assert_eq!(
        with(json!({"scope": "badge"})),
        Err(RequestError::QueryAndScope)
    );
    assert!(matches!(
        with(json!({"response_uri": null})),
        Err(RequestError::MissingResponseUri(_))
    ));
    assert!(matches!(
        with(json!({"redirect_uri": "https://v.example/cb"})),
        Err(RequestError::RedirectUriWithDirectPost(_))
    ));
    assert_eq!(with(json!({"nonce": "a b"})), Err(RequestError::BadNonce));
    assert_eq!(with(json!({"state": "a/b"})), Err(RequestError::BadState));
    assert!(matches!(
        with(json!({"response_uri": "http://verify.example.org/r"})),
        Err(RequestError::InsecureResponseUri(_))
    ));
    let mut q = example_request()["dcql_query"].clone();
    q["credentials"][0]["require_cryptographic_holder_binding"] = json!(false);
    assert_eq!(
        with(json!({"state": null, "dcql_query": q})),
        Err(RequestError::StateRequired)
    );
    assert!(matches!(
        with(json!({"dcql_query": {"credentials": []}})),
        Err(RequestError::Dcql(InvalidQuery::NoCredentials))
    ));
    // Draft-era names are not read as the final ones.
    let mut draft = example_request();
    draft["client_metadata"] = json!({"vp_formats": {"vc+sd-jwt": {}}});
    let r: AuthorizationRequest = serde_json::from_value(draft).unwrap();
    assert_eq!(r.client_metadata.unwrap().vp_formats_supported, None);
}

#[test]
fn client_id_prefixes() {
    let hash = crate::b64::sha256(b"cert");
    for (raw, ok) in [
        (
            "verifier-1",
            matches!(
                ClientId::parse("verifier-1").unwrap().prefix(),
                ClientIdPrefix::PreRegistered
            ),
        ),
        (
            "redirect_uri:https://v.example/post",
            matches!(
                ClientId::parse("redirect_uri:https://v.example/post")
                    .unwrap()
                    .prefix(),
                ClientIdPrefix::RedirectUri(_)
            ),
        ),
        (
            "x509_san_dns:v.example",
            matches!(ClientId::parse("x509_san_dns:v.example").unwrap().prefix(), ClientIdPrefix::X509SanDns(n) if n == "v.example"),
        ),
    ] {
        assert!(ok, "{raw}");
    }
    let h = ClientId::parse(&format!("x509_hash:{hash}")).unwrap();
    assert!(matches!(h.prefix(), ClientIdPrefix::X509Hash(x) if *x == hash));
    assert_eq!(
        h.as_str(),
        format!("x509_hash:{hash}"),
        "the audience is the full string"
    );
    assert!(h.requires_signed_request());
    let did = ClientId::did("did:web:v.example").unwrap();
    assert_eq!(did.as_str(), "decentralized_identifier:did:web:v.example");
    assert!(matches!(
        ClientId::parse("verifier_attestation:v").unwrap().prefix(),
        ClientIdPrefix::VerifierAttestation(_)
    ));
    assert!(matches!(
        ClientId::parse("openid_federation:https://v.example")
            .unwrap()
            .prefix(),
        ClientIdPrefix::OpenidFederation(_)
    ));
    assert_eq!(
        ClientId::parse("origin:https://v.example"),
        Err(ClientIdError::OriginPrefix)
    );
    assert_eq!(
        ClientId::parse("did:web:v.example"),
        Err(ClientIdError::UnknownPrefix("did".into()))
    );
    assert!(matches!(
        ClientId::parse("decentralized_identifier:web"),
        Err(ClientIdError::NotADid(_))
    ));
    assert!(matches!(
        ClientId::parse("x509_hash:abc"),
        Err(ClientIdError::BadX509Hash(_))
    ));
    assert_eq!(
        ClientId::parse("x509_san_dns:"),
        Err(ClientIdError::EmptyIdentifier("x509_san_dns"))
    );
}

#[test]
fn wallet_links() {
    let qr = "openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3Averify.example.org&request_uri=https%3A%2F%2Fverify.example.org%2Foid4vp%2Freq%2F7f3a";
    let Invocation::ByReference(r) = Invocation::parse(qr).unwrap() else {
        panic!("by reference")
    };
    assert_eq!(
        r.client_id.as_str(),
        "decentralized_identifier:did:web:verify.example.org"
    );
    assert_eq!(
        r.request_uri.as_str(),
        "https://verify.example.org/oid4vp/req/7f3a"
    );
    assert_eq!(r.request_uri_method, RequestUriMethod::Get);
    assert_eq!(r.to_url(OPENID4VP_SCHEME).unwrap().as_str(), qr);

    let post = RequestUri {
        request_uri_method: RequestUriMethod::Post,
        ..r.clone()
    };
    let https = post.to_url("https://wallet.example/present").unwrap();
    assert_eq!(
        Invocation::parse(https.as_str()).unwrap(),
        Invocation::ByReference(post)
    );

    let by_value = "openid4vp://?client_id=x509_san_dns%3Av.example&request=a.b.c";
    assert!(
        matches!(Invocation::parse(by_value).unwrap(), Invocation::ByValue { request, .. } if request == "a.b.c")
    );

    let mut plain = url::Url::parse("openid4vp://").unwrap();
    plain
        .query_pairs_mut()
        .append_pair("client_id", "redirect_uri:https://v.example/post")
        .append_pair("response_type", "vp_token")
        .append_pair("response_mode", "direct_post")
        .append_pair("response_uri", "https://v.example/post")
        .append_pair("nonce", "abc")
        .append_pair("dcql_query", &example_request()["dcql_query"].to_string());
    let Invocation::Plain(req) = Invocation::parse(plain.as_str()).unwrap() else {
        panic!("plain")
    };
    req.validate().unwrap();
    assert_eq!(req.dcql_query.unwrap().credentials[0].id, "badge");

    let bad_method = format!("{qr}&request_uri_method=put");
    let err = Invocation::parse(&bad_method).unwrap_err();
    assert_eq!(
        err.error_code(),
        crate::oauth::ErrorCode::InvalidRequestUriMethod
    );
    assert_eq!(
        Invocation::parse("openid4vp://?request_uri=https%3A%2F%2Fx"),
        Err(InvocationError::NoClientId)
    );
    assert_eq!(
        Invocation::parse(&format!("{qr}&request=a.b.c")),
        Err(InvocationError::RequestAndRequestUri)
    );
    assert_eq!(
        Invocation::parse("openid4vp://?client_id=origin%3Ax&request=a"),
        Err(InvocationError::ClientId(ClientIdError::OriginPrefix))
    );
}

#[test]
fn response_forms() {
    let payload = json!({"vp_token": {"badge": ["<issuer-jwt>~<disclosure>~<disclosure>~<kb-jwt>"]}, "state": "b3f1c2"});
    let resp: AuthorizationResponse = serde_json::from_value(payload.clone()).unwrap();
    assert_eq!(serde_json::to_value(&resp).unwrap(), payload);
    let body = resp.to_form_string();
    assert!(body.starts_with("vp_token=%7B%22badge%22%3A%5B"));
    assert_eq!(
        DirectPostBody::from_form_str(&body).unwrap(),
        DirectPostBody::Response(resp)
    );

    let err = AuthorizationErrorResponse {
        error: crate::oauth::ErrorCode::AccessDenied,
        error_description: Some("user declined".into()),
        state: Some("b3f1c2".into()),
    };
    assert_eq!(
        DirectPostBody::from_form_str(&err.to_form_string()).unwrap(),
        DirectPostBody::Error(err)
    );
    assert_eq!(
        DirectPostBody::from_form_str("response=a.b.c.d.e").unwrap(),
        DirectPostBody::Encrypted("a.b.c.d.e".into())
    );
    assert_eq!(
        DirectPostBody::from_form_str("state=x"),
        Err(ResponseError::Empty)
    );
    assert_eq!(
        DirectPostBody::from_form_str("vp_token=%7B%7D&error=x"),
        Err(ResponseError::Mixed)
    );
    assert!(matches!(
        DirectPostBody::from_form_str("vp_token=%7B%22a%22%3A%22s%22%7D"),
        Err(ResponseError::BadVpToken(_))
    ));
    assert_eq!(
        DirectPostBody::from_form_str("state=a&state=b"),
        Err(ResponseError::RepeatedParameter("state".into()))
    );
}

// ---- DCQL ----

const PID: &str = "https://credentials.example.com/identity_credential";

fn query(v: Value) -> DcqlQuery {
    let q: DcqlQuery = serde_json::from_value(v).unwrap();
    q.validate().unwrap();
    q
}

fn sd(vct: &str, claims: Value) -> Candidate {
    Candidate {
        format: "dc+sd-jwt".into(),
        vct: Some(vct.into()),
        types: vec![],
        claims,
    }
}

fn paths(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|p| p.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn path_elements_serde() {
    let p: ClaimsPath = serde_json::from_value(json!(["degrees", null, 0, "type"])).unwrap();
    assert_eq!(
        p.0,
        [
            PathElement::Key("degrees".into()),
            PathElement::All,
            PathElement::Index(0),
            PathElement::Key("type".into())
        ]
    );
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!(["degrees", null, 0, "type"])
    );
    assert!(serde_json::from_value::<ClaimsPath>(json!([-1])).is_err());
    assert!(serde_json::from_value::<ClaimsPath>(json!([1.5])).is_err());
    assert!(serde_json::from_value::<ClaimsPath>(json!([{}])).is_err());
}

#[test]
fn simple_query_and_values() {
    // Spec §6.4.1 style: values restrict the accepted claim values.
    let q = query(
        json!({"credentials": [{"id": "my_credential", "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [
            {"path": ["last_name"], "values": ["Doe"]},
            {"path": ["first_name"]},
            {"path": ["address", "street_address"]},
            {"path": ["postal_code"], "values": ["90210", "90211"]}]}]}),
    );
    let good = sd(
        PID,
        json!({"last_name": "Doe", "first_name": "John", "postal_code": "90211",
        "address": {"street_address": "1 Main St", "locality": "X"}, "age": 42}),
    );
    let sel = q.select(&[sd("other", json!({})), good.clone()]).unwrap();
    let chosen = &sel.credentials["my_credential"];
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0].candidate, 1);
    assert_eq!(
        chosen[0].disclose,
        paths(&[
            &["last_name"],
            &["first_name"],
            &["address", "street_address"],
            &["postal_code"]
        ])
    );

    let wrong_zip = sd(
        PID,
        json!({"last_name": "Doe", "first_name": "J", "postal_code": "10001",
        "address": {"street_address": "s"}}),
    );
    let err = q.select(&[wrong_zip]).unwrap_err();
    assert!(
        matches!(&err, DcqlError::Unsatisfied { query, closest: Some(Mismatch::ClaimValue { .. }) } if query == "my_credential"),
        "{err}"
    );
    assert!(
        err.to_string().contains("my_credential") && err.to_string().contains("postal_code"),
        "{err}"
    );
    let err = q
        .select(&[sd("https://other.example/vct", good.claims.clone())])
        .unwrap_err();
    assert!(matches!(
        err,
        DcqlError::Unsatisfied {
            closest: Some(Mismatch::Vct { .. }),
            ..
        }
    ));
    let err = q.select(&[]).unwrap_err();
    assert_eq!(
        err,
        DcqlError::Unsatisfied {
            query: "my_credential".into(),
            closest: None
        }
    );
}

#[test]
fn wildcard_paths_over_arrays() {
    let q = query(json!({"credentials": [{"id": "badges", "format": "ldp_vc",
        "meta": {"type_values": [["VerifiableCredential", "OpenBadgeCredential"]]},
        "claims": [
            {"path": ["credentialSubject", "achievement", "name"]},
            {"path": ["credentialSubject", "result", null, "value"]},
            {"path": ["credentialSubject", "result", null, "status"], "values": ["Completed"]}]}]}));
    let badge = Candidate {
        format: "ldp_vc".into(),
        vct: None,
        types: vec![
            "VerifiableCredential".into(),
            "AchievementCredential".into(),
            "OpenBadgeCredential".into(),
        ],
        claims: json!({"credentialSubject": {"achievement": {"name": "Rust"},
            "result": [{"value": "A"}, {"status": "Completed", "value": "B"}, {"status": "Failed"}]}}),
    };
    let sel = q.select(std::slice::from_ref(&badge)).unwrap();
    assert_eq!(
        sel.credentials["badges"][0].disclose,
        paths(&[
            &["credentialSubject", "achievement", "name"],
            &["credentialSubject", "result", "0", "value"],
            &["credentialSubject", "result", "1", "value"],
            &["credentialSubject", "result", "1", "status"],
        ])
    );
    // Index paths; a wildcard over a non-array is no match.
    let q2 = query(json!({"credentials": [{"id": "b", "format": "ldp_vc",
        "meta": {"type_values": [["OpenBadgeCredential"]]},
        "claims": [{"path": ["credentialSubject", "result", 2, "status"]}]}]}));
    assert_eq!(
        q2.select(std::slice::from_ref(&badge)).unwrap().credentials["b"][0].disclose,
        paths(&[&["credentialSubject", "result", "2", "status"]])
    );
    let q3 = query(json!({"credentials": [{"id": "b", "format": "ldp_vc",
        "meta": {"type_values": [["OpenBadgeCredential"]]},
        "claims": [{"path": ["credentialSubject", "achievement", null]}]}]}));
    assert!(matches!(
        q3.select(std::slice::from_ref(&badge)),
        Err(DcqlError::Unsatisfied {
            closest: Some(Mismatch::ClaimMissing { .. }),
            ..
        })
    ));
    let mut plain = badge.clone();
    plain.types = vec!["VerifiableCredential".into()];
    assert!(matches!(
        q.select(&[plain]),
        Err(DcqlError::Unsatisfied {
            closest: Some(Mismatch::Types),
            ..
        })
    ));
}

fn claim_sets_query() -> DcqlQuery {
    // Spec §6.4.2 style: claim_sets in preference order.
    query(json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [
            {"id": "a", "path": ["last_name"]},
            {"id": "b", "path": ["postal_code"]},
            {"id": "c", "path": ["locality"]},
            {"id": "d", "path": ["region"]},
            {"id": "e", "path": ["date_of_birth"]}],
        "claim_sets": [["a", "c", "d", "e"], ["a", "b", "e"]]}]}))
}

#[test]
fn claim_sets_preference() {
    let q = claim_sets_query();
    let full = sd(
        PID,
        json!({"last_name": "D", "postal_code": "1", "locality": "L", "region": "R", "date_of_birth": "2000"}),
    );
    assert_eq!(
        q.select(&[full]).unwrap().credentials["pid"][0].disclose,
        paths(&[
            &["last_name"],
            &["locality"],
            &["region"],
            &["date_of_birth"]
        ])
    );
    let no_region = sd(
        PID,
        json!({"last_name": "D", "postal_code": "1", "locality": "L", "date_of_birth": "2000"}),
    );
    assert_eq!(
        q.select(&[no_region]).unwrap().credentials["pid"][0].disclose,
        paths(&[&["last_name"], &["postal_code"], &["date_of_birth"]])
    );
    let err = q.select(&[sd(PID, json!({"last_name": "D"}))]).unwrap_err();
    assert!(
        matches!(
            &err,
            DcqlError::Unsatisfied {
                closest: Some(Mismatch::NoClaimSet { .. }),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("\"locality\""), "{err}");
}

fn credential_sets_query() -> DcqlQuery {
    // Spec §6.4.2 style: one required set with alternatives, one optional set.
    let pid = |id: &str, vct: &str| {
        json!({"id": id, "format": "dc+sd-jwt", "meta": {"vct_values": [vct]},
        "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}]})
    };
    query(json!({
        "credentials": [
            pid("pid", PID),
            pid("other_pid", "https://othercredentials.example/pid"),
            pid("pid_reduced_cred_1", "https://credentials.example.com/reduced_identity_credential"),
            {"id": "pid_reduced_cred_2", "format": "dc+sd-jwt",
             "meta": {"vct_values": ["https://cred.example/residence_credential"]},
             "claims": [{"path": ["postal_code"]}, {"path": ["locality"]}]},
            {"id": "nice_to_have", "format": "dc+sd-jwt",
             "meta": {"vct_values": ["https://company.example/company_rewards"]},
             "claims": [{"path": ["rewards_number"]}]}],
        "credential_sets": [
            {"options": [["pid"], ["other_pid"], ["pid_reduced_cred_1", "pid_reduced_cred_2"]]},
            {"required": false, "options": [["nice_to_have"]]}]}))
}

#[test]
fn credential_sets_required_and_optional() {
    let q = credential_sets_query();
    let names = json!({"given_name": "A", "family_name": "B"});
    let reduced = sd(
        "https://credentials.example.com/reduced_identity_credential",
        names.clone(),
    );
    let residence = sd(
        "https://cred.example/residence_credential",
        json!({"postal_code": "1", "locality": "L"}),
    );
    let rewards = sd(
        "https://company.example/company_rewards",
        json!({"rewards_number": 7}),
    );

    // Third option of the required set; optional set satisfied too.
    let sel = q
        .select(&[reduced.clone(), residence.clone(), rewards.clone()])
        .unwrap();
    assert_eq!(
        sel.credentials.keys().collect::<Vec<_>>(),
        ["nice_to_have", "pid_reduced_cred_1", "pid_reduced_cred_2"]
    );
    // Preferred option wins when available; the optional set may be omitted.
    let sel = q
        .select(&[reduced.clone(), sd(PID, names.clone())])
        .unwrap();
    assert_eq!(sel.credentials.keys().collect::<Vec<_>>(), ["pid"]);
    assert_eq!(sel.credentials["pid"][0].candidate, 1);
    // Required set unmet.
    let err = q.select(&[reduced, rewards]).unwrap_err();
    assert_eq!(
        err,
        DcqlError::CredentialSetUnsatisfied {
            set: 0,
            unmet: vec!["pid".into()]
        }
    );
}

#[test]
fn multiple_and_response_check() {
    let q = query(
        json!({"credentials": [{"id": "badges", "format": "dc+sd-jwt", "multiple": true,
        "meta": {"vct_values": ["v"]}, "claims": [{"path": ["name"]}]},
        {"id": "id", "format": "dc+sd-jwt", "meta": {"vct_values": ["pid"]}}]}),
    );
    let b1 = sd("v", json!({"name": "one"}));
    let b2 = sd("v", json!({"name": "two"}));
    let id = sd("pid", json!({}));
    let sel = q.select(&[b1.clone(), id.clone(), b2.clone()]).unwrap();
    assert_eq!(
        sel.credentials["badges"]
            .iter()
            .map(|c| c.candidate)
            .collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(sel.credentials["id"][0].disclose, Vec::<Vec<String>>::new());

    let mut resp = BTreeMap::new();
    resp.insert("badges".to_owned(), vec![b1.clone(), b2.clone()]);
    resp.insert("id".to_owned(), vec![id.clone()]);
    q.check_response(&resp).unwrap();

    let mut too_many = resp.clone();
    too_many.insert("id".into(), vec![id.clone(), id.clone()]);
    assert_eq!(
        q.check_response(&too_many),
        Err(DcqlError::WrongCount {
            query: "id".into(),
            count: 2
        })
    );
    let mut unknown = resp.clone();
    unknown.insert("extra".into(), vec![id.clone()]);
    assert_eq!(
        q.check_response(&unknown),
        Err(DcqlError::UnknownQueryId("extra".into()))
    );
    let mut missing = resp.clone();
    missing.remove("id");
    assert_eq!(
        q.check_response(&missing),
        Err(DcqlError::MissingRequired("id".into()))
    );
    let mut undisclosed = resp.clone();
    undisclosed.insert("badges".into(), vec![b1, sd("v", json!({}))]);
    assert!(matches!(q.check_response(&undisclosed),
        Err(DcqlError::PresentationMismatch { query, index: 1, mismatch: Mismatch::ClaimMissing { .. } }) if query == "badges"));
}

#[test]
fn response_check_with_sets_and_claim_sets() {
    let q = credential_sets_query();
    let mut resp = BTreeMap::new();
    resp.insert(
        "other_pid".to_owned(),
        vec![sd(
            "https://othercredentials.example/pid",
            json!({"given_name": "A", "family_name": "B"}),
        )],
    );
    q.check_response(&resp).unwrap();
    let mut half = BTreeMap::new();
    half.insert(
        "pid_reduced_cred_1".to_owned(),
        vec![sd(
            "https://credentials.example.com/reduced_identity_credential",
            json!({"given_name": "A", "family_name": "B"}),
        )],
    );
    assert!(matches!(
        q.check_response(&half),
        Err(DcqlError::CredentialSetUnsatisfied { set: 0, .. })
    ));

    let cs = claim_sets_query();
    let mut second_set = BTreeMap::new();
    second_set.insert(
        "pid".to_owned(),
        vec![sd(
            PID,
            json!({"last_name": "D", "postal_code": "1", "date_of_birth": "2000"}),
        )],
    );
    cs.check_response(&second_set).unwrap();
    let mut neither = BTreeMap::new();
    neither.insert(
        "pid".to_owned(),
        vec![sd(PID, json!({"last_name": "D", "date_of_birth": "2000"}))],
    );
    assert!(matches!(
        cs.check_response(&neither),
        Err(DcqlError::PresentationMismatch {
            mismatch: Mismatch::NoClaimSet { .. },
            ..
        })
    ));
}

#[test]
fn invalid_queries_rejected() {
    let invalid = |v: Value| {
        serde_json::from_value::<DcqlQuery>(v)
            .unwrap()
            .validate()
            .unwrap_err()
    };
    let sdq = |extra: Value| {
        let mut q = json!({"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}});
        for (k, v) in extra.as_object().unwrap() {
            q[k] = v.clone();
        }
        json!({"credentials": [q]})
    };
    assert_eq!(
        invalid(
            json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}}]})
        ),
        InvalidQuery::BadId("a b".into())
    );
    assert_eq!(
        invalid(
            json!({"credentials": [{"id": "a", "format": "ldp_vc", "meta": {"type_values": [["T"]]}}, {"id": "a", "format": "ldp_vc", "meta": {"type_values": [["T"]]}}]})
        ),
        InvalidQuery::DuplicateId("a".into())
    );
    assert!(matches!(
        invalid(json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}]})),
        InvalidQuery::MissingMeta {
            member: "vct_values",
            ..
        }
    ));
    assert!(matches!(
        invalid(json!({"credentials": [{"id": "a", "format": "ldp_vc", "meta": {}}]})),
        InvalidQuery::MissingMeta {
            member: "type_values",
            ..
        }
    ));
    assert_eq!(
        invalid(sdq(json!({"claims": [{"path": []}]}))),
        InvalidQuery::EmptyPath {
            query: "q".into(),
            index: 0
        }
    );
    assert_eq!(
        invalid(sdq(
            json!({"claims": [{"path": ["a"]}], "claim_sets": [["x"]]})
        )),
        InvalidQuery::ClaimIdRequired {
            query: "q".into(),
            index: 0
        }
    );
    assert_eq!(
        invalid(sdq(
            json!({"claims": [{"id": "x", "path": ["a"]}], "claim_sets": [["y"]]})
        )),
        InvalidQuery::UnknownClaimId {
            query: "q".into(),
            id: "y".into()
        }
    );
    assert_eq!(
        invalid(sdq(
            json!({"claims": [{"id": "x", "path": ["a"]}, {"id": "x", "path": ["b"]}]})
        )),
        InvalidQuery::DuplicateClaimId {
            query: "q".into(),
            id: "x".into()
        }
    );
    assert_eq!(
        invalid(sdq(
            json!({"claims": [{"path": ["a"], "values": [{"o": 1}]}]})
        )),
        InvalidQuery::NonScalarValue {
            query: "q".into(),
            index: 0
        }
    );
    assert_eq!(
        invalid(sdq(json!({"claim_sets": [["x"]]}))),
        InvalidQuery::ClaimSetsWithoutClaims { query: "q".into() }
    );
    let mut with_sets = sdq(json!({}));
    with_sets["credential_sets"] = json!([{"options": [["nope"]]}]);
    assert_eq!(
        invalid(with_sets),
        InvalidQuery::UnknownCredentialId {
            set: 0,
            id: "nope".into()
        }
    );
    assert!(
        serde_json::from_value::<DcqlQuery>(
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt"}]})
        )
        .is_err(),
        "meta is required"
    );
}
