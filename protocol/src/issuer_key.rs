//! SD-JWT VC issuer key resolution (draft-ietf-oauth-sd-jwt-vc-18 §5 "JWT VC Issuer
//! Metadata"; `spec/sd-jwt.md` §2, `spec/did.md` §4): from the issuer-signed JWT's `iss`
//! and header `kid` to the public key that must verify it.
//!
//! * `kid` is a DID URL: the key is resolved under `assertionMethod`, and its DID must be
//!   `iss` itself or the did:web of an https `iss` (a key embedded or named in a token
//!   proves nothing until it is tied to the issuer identifier).
//! * `iss` is an http(s) URL: `GET https://host/.well-known/jwt-vc-issuer{path}`, whose
//!   `issuer` must equal `iss` exactly; the key comes from `jwks` or `jwks_uri`, by `kid`.
//! * `iss` is a DID without `kid`: its single `assertionMethod` key.
//! * The header has `x5c` ([`resolve_x5c`]; SD-JWT VC §3.5, HAIP 1.0 §6.1): the chain must
//!   lead to a configured trust anchor, the leaf must not be self-signed, and `iss` must be
//!   one of the leaf's SAN URIs or, for an https `iss`, have its host among the leaf's SAN
//!   dNSNames.
//!
//! A resolved key says who signed, not whether they may issue: trust policy is the caller's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use url::Url;

use crate::cache::TtlCache;
use crate::did::{DidError, DidResolver, Relationship, did_web_from_url, split_did_url};
use crate::fetch::{FetchError, HttpGet};
use crate::keys::{Jwk, KeyError};
use crate::x509::{Cert, TrustAnchors, X509Error};

/// Why no issuer key could be found; each variant names the failed check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IssuerKeyError {
    #[error("`kid` {kid:?} is not a key of issuer {iss:?}")]
    KidNotBoundToIssuer { kid: String, iss: String },
    #[error("`iss` {iss:?} is neither an http(s) URL nor a DID: {reason}")]
    BadIssuer { iss: String, reason: String },
    #[error("fetching {url} failed: {source}")]
    Fetch { url: String, source: FetchError },
    #[error("JWT VC Issuer Metadata `issuer` is {found:?}, expected {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("JWT VC Issuer Metadata is malformed: {0}")]
    BadMetadata(String),
    #[error("no key with `kid` {kid:?} in the issuer's JWKS")]
    KidNotFound { kid: String },
    #[error("no `kid` given and the issuer's JWKS holds {count} keys, not exactly one")]
    AmbiguousKey { count: usize },
    #[error("issuer key is unusable: {0}")]
    BadKey(KeyError),
    #[error(transparent)]
    Did(#[from] DidError),
    #[error("`x5c` must be an array of base64 strings")]
    X5cNotStrings,
    #[error("`x5c` certificate chain: {0}")]
    X509(X509Error),
    #[error(
        "`iss` {iss:?} is not named by the certificate (SAN URIs {uris:?}, dNSNames {dns_names:?})"
    )]
    IssNotInCertificate {
        iss: String,
        uris: Vec<String>,
        dns_names: Vec<String>,
    },
}

/// The issuer key from a JOSE `x5c` header value: the chain is verified to `anchors` at
/// `now` (Unix seconds), and `iss` must be bound to its leaf: equal to a SAN URI, or, for an
/// https `iss`, with its host equal to a SAN dNSName (SD-JWT VC §3.5). Returns the leaf's
/// P-256 key and the leaf.
pub fn resolve_x5c(
    iss: &str,
    x5c: &serde_json::Value,
    anchors: &TrustAnchors,
    now: i64,
) -> Result<(Jwk, Cert), IssuerKeyError> {
    let x5c: Vec<String> =
        serde_json::from_value(x5c.clone()).map_err(|_| IssuerKeyError::X5cNotStrings)?;
    let chain = crate::x509::x5c_decode(&x5c).map_err(IssuerKeyError::X509)?;
    let leaf = crate::x509::verify_chain(&chain, anchors, now).map_err(IssuerKeyError::X509)?;
    let host_bound = Url::parse(iss).ok().is_some_and(|url| {
        url.scheme() == "https"
            && url.host_str().is_some_and(|host| {
                leaf.dns_names
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(host))
            })
    });
    if !host_bound && !leaf.uris.iter().any(|uri| uri == iss) {
        return Err(IssuerKeyError::IssNotInCertificate {
            iss: iss.to_owned(),
            uris: leaf.uris.clone(),
            dns_names: leaf.dns_names.clone(),
        });
    }
    let jwk = leaf.p256_jwk().map_err(IssuerKeyError::X509)?;
    Ok((jwk, leaf))
}

/// JWT VC Issuer Metadata (draft-ietf-oauth-sd-jwt-vc-18 §5.2).
#[derive(Clone, Debug, Deserialize)]
pub struct JwtVcIssuerMetadata {
    pub issuer: String,
    #[serde(default)]
    pub jwks: Option<JwkSet>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// A JWK Set (RFC 7517 §5). Keys stay raw until one is selected: a set may hold key types
/// we do not use.
#[derive(Clone, Debug, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<serde_json::Value>,
}

impl JwkSet {
    /// The key named `kid`, or without `kid` the only key of the set.
    pub fn select(&self, kid: Option<&str>) -> Result<Jwk, IssuerKeyError> {
        let value = match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid))
                .ok_or_else(|| IssuerKeyError::KidNotFound {
                    kid: kid.to_owned(),
                })?,
            None => match self.keys.as_slice() {
                [only] => only,
                keys => return Err(IssuerKeyError::AmbiguousKey { count: keys.len() }),
            },
        };
        Jwk::from_value(value).map_err(IssuerKeyError::BadKey)
    }
}

/// Where the JWT VC Issuer Metadata of `iss` lives: `/.well-known/jwt-vc-issuer` inserted
/// between the host and the path (`https://ex.org/t/1` → `https://ex.org/.well-known/jwt-vc-issuer/t/1`).
/// The scheme is kept; the [`Fetcher`] decides whether `http` is acceptable.
pub fn jwt_vc_issuer_metadata_url(iss: &str) -> Result<Url, IssuerKeyError> {
    let bad = |reason: &str| IssuerKeyError::BadIssuer {
        iss: iss.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(iss).map_err(|_| bad("not an absolute URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("scheme is not https"));
    }
    if url.host().is_none() {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an issuer identifier has no query or fragment"));
    }
    let path = match url.path() {
        "/" => String::new(),
        path => path.to_owned(),
    };
    url.set_path(&format!("/.well-known/jwt-vc-issuer{path}"));
    Ok(url)
}

const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 256;

/// Resolves SD-JWT VC issuer keys. Clones share the metadata cache.
#[derive(Clone, Debug)]
pub struct IssuerKeyResolver {
    http: Arc<dyn HttpGet>,
    dids: DidResolver,
    cache: Arc<TtlCache<String, JwkSet, Instant>>,
}

impl IssuerKeyResolver {
    /// A resolver fetching through `http` and resolving DIDs with `dids`; issuer key sets
    /// are cached 5 minutes (refetched once early when a `kid` is not found: key rotation).
    pub fn new(http: impl HttpGet + 'static, dids: DidResolver) -> Self {
        IssuerKeyResolver {
            http: Arc::new(http),
            dids,
            cache: Arc::new(TtlCache::new(CACHE_MAX)),
        }
    }

    /// The key that must verify a JWT with claim `iss` and header `kid`.
    pub async fn resolve(&self, iss: &str, kid: Option<&str>) -> Result<Jwk, IssuerKeyError> {
        if let Some(kid) = kid
            && kid.starts_with("did:")
        {
            let (did, _) = split_did_url(kid)?;
            if !self.did_bound_to_issuer(did, iss) {
                return Err(IssuerKeyError::KidNotBoundToIssuer {
                    kid: kid.to_owned(),
                    iss: iss.to_owned(),
                });
            }
            return Ok(self
                .dids
                .resolve_key(kid, Relationship::AssertionMethod)
                .await?);
        }
        if iss.starts_with("https://") || iss.starts_with("http://") {
            return self.resolve_by_metadata(iss, kid).await;
        }
        if iss.starts_with("did:") {
            return match kid {
                // A relative key id names a method of the issuer's own document.
                Some(fragment) if fragment.starts_with('#') => Ok(self
                    .dids
                    .resolve_key(&format!("{iss}{fragment}"), Relationship::AssertionMethod)
                    .await?),
                Some(kid) => Err(IssuerKeyError::KidNotBoundToIssuer {
                    kid: kid.to_owned(),
                    iss: iss.to_owned(),
                }),
                None => Ok(self
                    .dids
                    .resolve(iss)
                    .await?
                    .single_key(Relationship::AssertionMethod)?),
            };
        }
        Err(IssuerKeyError::BadIssuer {
            iss: iss.to_owned(),
            reason: "unknown scheme".into(),
        })
    }

    fn did_bound_to_issuer(&self, did: &str, iss: &str) -> bool {
        if did == iss {
            return true;
        }
        let https_or_dev = iss.starts_with("https://")
            || (self.http.allow_loopback() && iss.starts_with("http://"));
        https_or_dev && did_web_from_url(iss).is_ok_and(|web| web == did)
    }

    /// The JWK Set of `https` issuer `iss` from its JWT VC Issuer Metadata (cached as for
    /// [`IssuerKeyResolver::resolve`]): what a verifier's offline page keeps to verify
    /// that issuer's cards.
    pub async fn key_set(&self, iss: &str) -> Result<JwkSet, IssuerKeyError> {
        if let Some(set) = self.cached(iss) {
            return Ok(set);
        }
        let set = self.fetch_key_set(iss).await?;
        self.store(iss, &set);
        Ok(set)
    }

    async fn resolve_by_metadata(
        &self,
        iss: &str,
        kid: Option<&str>,
    ) -> Result<Jwk, IssuerKeyError> {
        if let Some(set) = self.cached(iss) {
            match set.select(kid) {
                Err(IssuerKeyError::KidNotFound { .. }) => {} // maybe rotated: refetch below
                other => return other,
            }
        }
        let set = self.fetch_key_set(iss).await?;
        self.store(iss, &set);
        set.select(kid)
    }

    async fn fetch_key_set(&self, iss: &str) -> Result<JwkSet, IssuerKeyError> {
        let url = jwt_vc_issuer_metadata_url(iss)?;
        let metadata: JwtVcIssuerMetadata = crate::fetch::get_json(&*self.http, url.as_str())
            .await
            .map_err(|source| IssuerKeyError::Fetch {
                url: url.to_string(),
                source,
            })?;
        if metadata.issuer != iss {
            return Err(IssuerKeyError::IssuerMismatch {
                expected: iss.to_owned(),
                found: metadata.issuer,
            });
        }
        match (metadata.jwks, metadata.jwks_uri) {
            (Some(jwks), None) => Ok(jwks),
            (None, Some(uri)) => {
                crate::fetch::get_json(&*self.http, &uri)
                    .await
                    .map_err(|source| IssuerKeyError::Fetch {
                        url: uri.clone(),
                        source,
                    })
            }
            (Some(_), Some(_)) => Err(IssuerKeyError::BadMetadata(
                "both `jwks` and `jwks_uri` present".into(),
            )),
            (None, None) => Err(IssuerKeyError::BadMetadata(
                "neither `jwks` nor `jwks_uri` present".into(),
            )),
        }
    }

    fn cached(&self, iss: &str) -> Option<JwkSet> {
        self.cache.get(iss, Instant::now())
    }

    fn store(&self, iss: &str, set: &JwkSet) {
        let now = Instant::now();
        if let Some(until) = now.checked_add(CACHE_TTL) {
            self.cache.put(iss.to_owned(), set.clone(), until, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::{did_jwk, did_key, did_web_document};
    use crate::fetch::TestGet;
    use crate::keys::{Alg, Signer, SigningKey};
    use axum::Router;
    use axum::routing::get;
    use serde_json::json;

    fn resolver(allow_loopback: bool) -> IssuerKeyResolver {
        let http = TestGet { allow_loopback };
        IssuerKeyResolver::new(http.clone(), DidResolver::new(http))
    }

    fn with_kid(jwk: &Jwk, kid: &str) -> serde_json::Value {
        let mut v = jwk.to_value();
        v["kid"] = json!(kid);
        v
    }

    const NOW: i64 = 1_800_000_000;

    fn issuer_pki(sans: &[crate::x509::San]) -> (SigningKey, TrustAnchors, serde_json::Value) {
        pki_named("Issuer", sans)
    }

    fn pki_named(
        name: &str,
        sans: &[crate::x509::San],
    ) -> (SigningKey, TrustAnchors, serde_json::Value) {
        let key = SigningKey::generate(Alg::ES256);
        let pki = crate::x509::DevPki::generate_with_sans(name, sans, &key, NOW).unwrap();
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        let x5c = json!(crate::x509::x5c_encode(std::slice::from_ref(&pki.leaf)));
        (key, anchors, x5c)
    }

    #[test]
    fn x5c_binds_an_https_iss_by_dns_name_or_uri_and_any_iss_by_uri() {
        use crate::x509::San;
        let (key, anchors, x5c) = issuer_pki(&[San::Dns("issuer.example".into())]);
        let (jwk, leaf) = resolve_x5c("https://issuer.example", &x5c, &anchors, NOW).unwrap();
        assert_eq!(jwk, key.public_jwk());
        assert_eq!(leaf.dns_names, ["issuer.example"]);
        // The host of a path-carrying issuer identifier is bound by the dNSName too.
        resolve_x5c("https://ISSUER.example/tenant/1", &x5c, &anchors, NOW).unwrap();
        // http is not bound by a dNSName.
        assert!(matches!(
            resolve_x5c("http://issuer.example", &x5c, &anchors, NOW),
            Err(IssuerKeyError::IssNotInCertificate { .. })
        ));
        let err = resolve_x5c("https://other.example", &x5c, &anchors, NOW).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`iss` \"https://other.example\" is not named by the certificate (SAN URIs [], dNSNames [\"issuer.example\"])"
        );

        let (_, anchors, x5c) = issuer_pki(&[San::Uri("did:web:issuer.example".into())]);
        resolve_x5c("did:web:issuer.example", &x5c, &anchors, NOW).unwrap();
        assert!(matches!(
            resolve_x5c("did:web:other.example", &x5c, &anchors, NOW),
            Err(IssuerKeyError::IssNotInCertificate { .. })
        ));
    }

    #[test]
    fn x5c_refuses_other_anchors_bad_values_and_expired_chains() {
        use crate::x509::San;
        let (_, _, x5c) = issuer_pki(&[San::Dns("issuer.example".into())]);
        let (_, other_anchors, _) = pki_named("Other", &[San::Dns("issuer.example".into())]);
        assert!(matches!(
            resolve_x5c("https://issuer.example", &x5c, &other_anchors, NOW),
            Err(IssuerKeyError::X509(X509Error::UntrustedRoot { .. }))
        ));
        // An anchor with the same name but another key: the chain's signature fails.
        let (_, same_name, _) = issuer_pki(&[San::Dns("issuer.example".into())]);
        assert!(matches!(
            resolve_x5c("https://issuer.example", &x5c, &same_name, NOW),
            Err(IssuerKeyError::X509(X509Error::BadSignature { .. }))
        ));
        assert!(matches!(
            resolve_x5c(
                "https://issuer.example",
                &x5c,
                &TrustAnchors::default(),
                NOW
            ),
            Err(IssuerKeyError::X509(X509Error::NoAnchors))
        ));
        assert!(matches!(
            resolve_x5c(
                "https://issuer.example",
                &json!("MIIB"),
                &other_anchors,
                NOW
            ),
            Err(IssuerKeyError::X5cNotStrings)
        ));
        assert!(matches!(
            resolve_x5c(
                "https://issuer.example",
                &json!(["%%"]),
                &other_anchors,
                NOW
            ),
            Err(IssuerKeyError::X509(X509Error::NotBase64(0)))
        ));
        let (_, anchors, x5c) = issuer_pki(&[San::Dns("issuer.example".into())]);
        let eleven_years = 11 * 365 * 86_400;
        assert!(matches!(
            resolve_x5c("https://issuer.example", &x5c, &anchors, NOW + eleven_years),
            Err(IssuerKeyError::X509(X509Error::NotValidNow { .. }))
        ));
    }

    #[test]
    fn metadata_url() {
        let url = |iss| jwt_vc_issuer_metadata_url(iss).unwrap().to_string();
        assert_eq!(
            url("https://example.com"),
            "https://example.com/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            url("https://example.com/tenant/1234"),
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
        );
        assert_eq!(
            url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.well-known/jwt-vc-issuer"
        );
        assert!(jwt_vc_issuer_metadata_url("did:web:example.com").is_err());
        assert!(jwt_vc_issuer_metadata_url("https://example.com/?x=1").is_err());
    }

    #[tokio::test]
    async fn metadata_path_and_failures() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let k1 = SigningKey::generate(Alg::ES256).public_jwk();
        let k2 = SigningKey::generate(Alg::EdDSA).public_jwk();
        let inline = json!({"issuer": format!("{base}/inline"), "jwks": {"keys": [with_kid(&k1, "k1"), with_kid(&k2, "k2")]}});
        let by_uri =
            json!({"issuer": format!("{base}/by-uri"), "jwks_uri": format!("{base}/jwks")});
        let jwks = json!({"keys": [with_kid(&k2, "only")]});
        let mismatch =
            json!({"issuer": "https://impostor.example", "jwks": {"keys": [k1.to_value()]}});
        let both = json!({"issuer": format!("{base}/both"), "jwks": {"keys": []}, "jwks_uri": format!("{base}/jwks")});
        let private = json!({"issuer": format!("{base}/private"), "jwks": {"keys": [{
            "kty": "OKP", "crv": "Ed25519", "kid": "p",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}});
        let app = Router::new()
            .route(
                "/.well-known/jwt-vc-issuer/inline",
                get(move || async move { axum::Json(inline) }),
            )
            .route(
                "/.well-known/jwt-vc-issuer/by-uri",
                get(move || async move { axum::Json(by_uri) }),
            )
            .route("/jwks", get(move || async move { axum::Json(jwks) }))
            .route(
                "/.well-known/jwt-vc-issuer/mismatch",
                get(move || async move { axum::Json(mismatch) }),
            )
            .route(
                "/.well-known/jwt-vc-issuer/both",
                get(move || async move { axum::Json(both) }),
            )
            .route(
                "/.well-known/jwt-vc-issuer/private",
                get(move || async move { axum::Json(private) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let r = resolver(true);
        let inline_iss = format!("{base}/inline");
        assert_eq!(r.resolve(&inline_iss, Some("k1")).await.unwrap().x, k1.x);
        assert_eq!(r.resolve(&inline_iss, Some("k2")).await.unwrap().x, k2.x);
        assert_eq!(
            r.resolve(&inline_iss, Some("k3")).await,
            Err(IssuerKeyError::KidNotFound { kid: "k3".into() })
        );
        assert_eq!(
            r.resolve(&inline_iss, None).await,
            Err(IssuerKeyError::AmbiguousKey { count: 2 })
        );

        // jwks_uri, and the single key when there is no kid.
        let by_uri_iss = format!("{base}/by-uri");
        assert_eq!(r.resolve(&by_uri_iss, None).await.unwrap().x, k2.x);
        assert_eq!(r.resolve(&by_uri_iss, Some("only")).await.unwrap().x, k2.x);

        assert!(matches!(
            r.resolve(&format!("{base}/mismatch"), None).await,
            Err(IssuerKeyError::IssuerMismatch { found, .. }) if found == "https://impostor.example"
        ));
        // `issuer` must match exactly: a trailing slash is another issuer.
        assert!(matches!(
            r.resolve(&format!("{base}/inline/"), Some("k1")).await,
            Err(IssuerKeyError::Fetch {
                source: FetchError::Status { status: 404, .. },
                ..
            })
        ));
        assert!(matches!(
            r.resolve(&format!("{base}/both"), None).await,
            Err(IssuerKeyError::BadMetadata(_))
        ));
        assert_eq!(
            r.resolve(&format!("{base}/private"), Some("p")).await,
            Err(IssuerKeyError::BadKey(KeyError::PrivateMemberInJwk))
        );
        assert!(matches!(
            r.resolve(&format!("{base}/absent"), None).await,
            Err(IssuerKeyError::Fetch {
                source: FetchError::Status { status: 404, .. },
                ..
            })
        ));
        // The strict policy refuses the loopback issuer outright.
        assert!(matches!(
            resolver(false).resolve(&inline_iss, Some("k1")).await,
            Err(IssuerKeyError::Fetch {
                source: FetchError::NotHttps { .. },
                ..
            })
        ));
        assert!(matches!(
            r.resolve("urn:x:y", None).await,
            Err(IssuerKeyError::BadIssuer { .. })
        ));
    }

    #[tokio::test]
    async fn did_path_and_binding() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let iss = format!("http://{addr}");
        let did = did_web_from_url(&iss).unwrap();
        let key = SigningKey::generate(Alg::ES256).public_jwk();
        let doc = did_web_document(&did, &[("key-1", key.clone())]);
        let app = Router::new().route(
            "/.well-known/did.json",
            get(move || async move { axum::Json(doc) }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let r = resolver(true);

        // https-style iss with the did:web of the same origin as kid.
        let kid = format!("{did}#key-1");
        assert_eq!(r.resolve(&iss, Some(&kid)).await.unwrap().x, key.x);
        // iss is the DID itself, with and without kid.
        assert_eq!(r.resolve(&did, Some(&kid)).await.unwrap().x, key.x);
        assert_eq!(r.resolve(&did, None).await.unwrap().x, key.x);
        assert_eq!(r.resolve(&did, Some("#key-1")).await.unwrap().x, key.x);

        // A DID that is not the issuer's is refused before resolution.
        let stranger = did_key(&SigningKey::generate(Alg::EdDSA).public_jwk()).unwrap();
        let stranger_kid = format!("{stranger}#{}", &stranger[8..]);
        assert_eq!(
            r.resolve(&iss, Some(&stranger_kid)).await,
            Err(IssuerKeyError::KidNotBoundToIssuer {
                kid: stranger_kid.clone(),
                iss: iss.clone()
            })
        );
        assert!(matches!(
            r.resolve(&did, Some(&stranger_kid)).await,
            Err(IssuerKeyError::KidNotBoundToIssuer { .. })
        ));
        assert!(matches!(
            r.resolve(&did, Some("key-1")).await,
            Err(IssuerKeyError::KidNotBoundToIssuer { .. })
        ));
        // A did:key issuer signing with its own key.
        assert_eq!(
            r.resolve(&stranger, Some(&stranger_kid)).await.unwrap().crv,
            "Ed25519"
        );
        assert_eq!(r.resolve(&stranger, None).await.unwrap().crv, "Ed25519");
        // did:jwk issuer; a missing method is a DID error.
        let jwk_did = did_jwk(&key);
        assert_eq!(
            r.resolve(&jwk_did, Some(&format!("{jwk_did}#0")))
                .await
                .unwrap()
                .x,
            key.x
        );
        assert!(matches!(
            r.resolve(&did, Some(&format!("{did}#key-9"))).await,
            Err(IssuerKeyError::Did(DidError::MethodNotFound { .. }))
        ));
    }
}
