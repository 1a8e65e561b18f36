//! Batch issuance for unlinkability (OpenID4VCI 1.0 §8.2 `proofs`): the wallet asks an
//! issuer that offers batches for `min(batch_size, WALLET_BATCH_SIZE)` copies of a badge,
//! one fresh key per copy, and presents a different copy each time, so the verifier sees
//! another holder key (`cnf`) each time until every copy was used, then the first again.

use serde_json::{Value, json};

use protocol::keys::Signer;

use crate::common::{TestStack, check};

/// The `cnf` thumbprint the verifier's `holder_binding` check names for request `id`.
fn holder_thumbprint(result: &Value) -> String {
    let detail = result["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "holder_binding")
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_else(|| panic!("no holder_binding check: {result:#}"))
        .to_owned();
    let (_, rest) = detail
        .split_once("thumbprint ")
        .unwrap_or_else(|| panic!("{detail}"));
    rest.trim_end_matches(')').to_owned()
}

/// Presents `account`'s badge of `issuer` to a new request of Akashi's verifier; the
/// result, verified, and the holder key it was bound to.
async fn present(t: &TestStack, account: &holder_agent::wallet::Account, issuer: &str) -> String {
    let result = t.present_from_wallet(account, issuer).await;
    assert_eq!(check(&result, "holder_binding"), Some(true));
    holder_thumbprint(&result)
}

/// The `cnf` thumbprints of the stored copies of the account's only badge, by index.
async fn copy_thumbprints(t: &TestStack, account: &holder_agent::wallet::Account) -> Vec<String> {
    let wallet = &t.stack.wallet.app;
    let list = wallet.list(account).await.unwrap();
    assert_eq!(list.len(), 1, "one badge, however many copies: {list:?}");
    let copies = wallet.store.copies(&list[0].id).await.unwrap();
    copies
        .iter()
        .map(|c| {
            let sd = protocol::sd_jwt::SdJwt::parse(&c.raw).unwrap();
            let payload = sd.issuer_jwt().unwrap().payload;
            protocol::keys::Jwk::from_value(&payload["cnf"]["jwk"])
                .unwrap()
                .thumbprint()
        })
        .collect()
}

/// Akashi's issuer offers batches of 10; the wallet (default `WALLET_BATCH_SIZE` 3) asks
/// for 3 copies in one request: one badge listed, three copies stored, the first bound to
/// the account's key and the others to fresh keys. Four presentations to Akashi's verifier
/// are bound to the three keys in turn, then to the first again.
#[tokio::test]
async fn the_wallet_receives_a_batch_and_presents_another_copy_each_time() {
    let t = TestStack::start().await;
    let (_, metadata) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(metadata["batch_credential_issuance"]["batch_size"], 10);
    let account = t.wallet_with_badge().await;
    let keys = copy_thumbprints(&t, &account).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0], account.key.public_jwk().thumbprint());
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);

    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(present(&t, &account, t.issuer()).await);
    }
    assert_eq!(seen[..3], keys[..], "each copy once, in turn");
    assert_eq!(seen[3], keys[0], "then round again");
    let list = t.stack.wallet.app.list(&account).await.unwrap();
    let presented: Vec<i64> = t
        .stack
        .wallet
        .app
        .store
        .copies(&list[0].id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.presented)
        .collect();
    assert_eq!(presented, [2, 1, 1]);
    t.stack.stop().await;
}

/// With `WALLET_BATCH_SIZE=1` the wallet asks for one credential, as before batches:
/// no copies, the account's key every time.
#[tokio::test]
async fn a_wallet_set_to_one_asks_for_one_and_presents_it_every_time() {
    let t = TestStack::start_with(|c| c.wallet.batch_size = 1).await;
    let account = t.wallet_with_badge().await;
    assert_eq!(copy_thumbprints(&t, &account).await, Vec::<String>::new());
    let first = present(&t, &account, t.issuer()).await;
    let second = present(&t, &account, t.issuer()).await;
    assert_eq!(first, account.key.public_jwk().thumbprint());
    assert_eq!(first, second);
    t.stack.stop().await;
}

/// The independent npm issuer (`interop/oid4vci_issuer.mjs`, oid4vc-ts verifying every
/// proof) offering batches of 2: the wallet receives two copies bound to two keys and
/// presents them in turn to Akashi's verifier. A batch answered with two copies for one
/// key is refused.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn the_wallet_receives_a_batch_from_an_independent_issuer() {
    let npm = crate::independent_issuer::NpmIssuer::start(json!({"batch_size": 2}));
    let url = npm.url.clone();
    let t = TestStack::start_with(move |c| c.verifier.trusted_issuers = vec![url]).await;
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = npm.offer(json!({})).await;
    wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet receives the batch");
    let keys = copy_thumbprints(&t, &account).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_ne!(keys[0], keys[1]);
    let first = present(&t, &account, &npm.url).await;
    let second = present(&t, &account, &npm.url).await;
    assert_eq!(vec![first, second], keys);

    // An issuer answering a batch with every copy bound to the first key: refused, naming
    // the check, and nothing more stored.
    let offer = npm.offer(json!({"binding": "first_key_only"})).await;
    let err = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "credential 1 is bound to a key another credential of the batch is bound to"
    );
    assert_eq!(wallet.list(&account).await.unwrap().len(), 1);
    t.stack.stop().await;
}
