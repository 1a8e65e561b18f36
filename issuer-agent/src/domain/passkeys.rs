//! Console passkeys: an operator adds, lists, renames and removes their own; anyone signs
//! in with one instead of a password (the password form stays, as the fallback).
//!
//! Sign-in uses discoverable credentials: the page asks for any passkey of this site, no
//! address typed. So it never says which addresses have passkeys (an address-first flow
//! with `allowCredentials` would hand out an address's credential ids), and the browser
//! offers the operator's passkeys itself.
//!
//! Every ceremony's challenge is made here, stored ([`CHALLENGE_TTL`] seconds), bound to
//! the browser that asked (the SHA-256 of its session for adding a passkey, of its CSRF
//! cookie for signing in) and deleted by the answer that uses it, whoever sends it: an
//! answer replayed, or sent from another browser, is refused and names why. One client
//! address is given at most [`CLIENT_MAX_CHALLENGES`] challenges per [`CHALLENGE_TTL`].
//!
//! The relying party is the issuer's public URL (`ISSUER_PUBLIC_URL`): its host is the RP
//! id and its origin the only origin accepted ([`RelyingParty::from_public_url`]).
//!
//! Lockout: a refused passkey counts against the client address like a wrong password
//! ([`crate::Inner::console_throttle`]); the per-address lock of
//! [`crate::domain::operators`] guards passwords, which can be guessed, and does not stop
//! a passkey (else anyone typing wrong passwords for an address could keep its operator
//! out). A disabled operator's passkeys sign nobody in; the signature counter must move
//! on with each use (when the authenticator keeps one), moved by one conditional update.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::App;
use crate::domain::operators::Operator;
use crate::domain::webauthn::{self, Assertion, PublicKey, Registration, RelyingParty};
use crate::error::{AppError, PasskeyError};
use crate::store::{AuditEntry, ChallengeRow, PasskeyRow};

/// Seconds a ceremony's challenge lasts.
pub const CHALLENGE_TTL: i64 = 300;
/// Challenges one client address may be given per [`CHALLENGE_TTL`]: each is a row until
/// it is used or expires, so this bounds what one address can make the database hold.
pub const CLIENT_MAX_CHALLENGES: u32 = 100;
/// Longest page answer (a credential's JSON) read.
pub const MAX_CREDENTIAL_JSON: usize = 16 * 1024;
/// Longest passkey name.
const MAX_NAME: usize = 100;
/// Passkeys one operator may have.
pub const MAX_PASSKEYS: usize = 20;

const REGISTER: &str = "register";
const SIGN_IN: &str = "sign_in";

/// A passkey as its operator's page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn view(row: &PasskeyRow) -> PasskeyView {
    PasskeyView {
        id: row.id.clone(),
        name: row.name.clone(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}

/// A passkey's name, trimmed: 1 to [`MAX_NAME`] characters, no control characters.
fn passkey_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "name",
            format!("must be 1 to {MAX_NAME} characters, no control characters"),
        ));
    }
    Ok(name)
}

/// What ties a challenge to one browser: the SHA-256 of `purpose` and its secret.
fn binding(purpose: &str, secret: &str) -> String {
    protocol::b64::sha256(format!("{purpose}\n{secret}"))
}

fn key_of(row: &PasskeyRow) -> Result<PublicKey, AppError> {
    Ok(PublicKey {
        algorithm: row.algorithm,
        bytes: protocol::b64::decode(&row.public_key)
            .map_err(|e| AppError::Internal(format!("passkey {} key: {e}", row.id)))?,
    })
}

impl App {
    /// The relying party this issuer is, from its public URL.
    pub fn relying_party(&self) -> Result<RelyingParty, AppError> {
        Ok(
            RelyingParty::from_public_url(&self.config.service.public_url)
                .map_err(PasskeyError::from)?,
        )
    }

    /// Makes and stores a challenge for `purpose`, bound to `secret`, for `client`.
    async fn new_challenge(
        &self,
        purpose: &str,
        secret: &str,
        operator_id: Option<&str>,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<String, AppError> {
        self.passkey_challenges.check(client, now)?;
        self.passkey_challenges.failed(client, now);
        let challenge = protocol::b64::random(32);
        self.store
            .insert_webauthn_challenge(
                &ChallengeRow {
                    challenge: challenge.clone(),
                    purpose: purpose.into(),
                    binding: binding(purpose, secret),
                    operator_id: operator_id.map(str::to_owned),
                    expires_at: now + CHALLENGE_TTL,
                },
                now,
            )
            .await?;
        Ok(challenge)
    }

    /// Uses the challenge `challenge` for `purpose`: it is deleted whoever sends it, then
    /// must have been issued to `secret`'s browser and not have expired.
    async fn take_challenge(
        &self,
        challenge: &str,
        purpose: &str,
        secret: &str,
        now: i64,
    ) -> Result<ChallengeRow, AppError> {
        let row = self
            .store
            .take_webauthn_challenge(challenge, purpose)
            .await?
            .ok_or(PasskeyError::ChallengeUnknown)?;
        if !protocol::secret::constant_time_eq(
            row.binding.as_bytes(),
            binding(purpose, secret).as_bytes(),
        ) {
            return Err(PasskeyError::ChallengeOtherSession.into());
        }
        if row.expires_at <= now {
            return Err(PasskeyError::ChallengeExpired.into());
        }
        Ok(row)
    }

    /// `operator`'s passkeys, oldest first.
    pub async fn passkeys(&self, operator: &Operator) -> Result<Vec<PasskeyView>, AppError> {
        Ok(self
            .store
            .passkeys_of_operator(&operator.id)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// The options of `navigator.credentials.create` (WebAuthn §5.4,
    /// `PublicKeyCredentialCreationOptionsJSON`) for `operator` to add a passkey, from the
    /// browser with session `session` at `client`.
    pub async fn passkey_registration_options(
        &self,
        operator: &Operator,
        session: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<Value, AppError> {
        let rp = self.relying_party()?;
        let existing = self.store.passkeys_of_operator(&operator.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany {
                limit: MAX_PASSKEYS,
            }
            .into());
        }
        let challenge = self
            .new_challenge(REGISTER, session, Some(&operator.id), client, now)
            .await?;
        Ok(json!({
            "challenge": challenge,
            "rp": { "id": rp.id, "name": self.config.name },
            "user": {
                "id": protocol::b64::encode(operator.id.as_bytes()),
                "name": operator.email,
                "displayName": operator.name,
            },
            "pubKeyCredParams": webauthn::ALGORITHMS
                .iter()
                .map(|alg| json!({ "type": "public-key", "alg": alg }))
                .collect::<Vec<_>>(),
            "timeout": CHALLENGE_TTL * 1000,
            "attestation": "none",
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "excludeCredentials": existing
                .iter()
                .map(|p| json!({ "type": "public-key", "id": p.credential_id }))
                .collect::<Vec<_>>(),
        }))
    }

    /// Adds the passkey in `credential` (the page's JSON of the new credential) to
    /// `operator`, named `name`, audited.
    pub async fn add_passkey(
        &self,
        operator: &Operator,
        session: &str,
        name: &str,
        credential: &str,
        now: i64,
    ) -> Result<PasskeyView, AppError> {
        let name = passkey_name(name)?;
        if credential.len() > MAX_CREDENTIAL_JSON {
            return Err(PasskeyError::TooLarge {
                limit: MAX_CREDENTIAL_JSON,
            }
            .into());
        }
        let rp = self.relying_party()?;
        let registration = Registration::parse(credential).map_err(PasskeyError::from)?;
        let challenge = self
            .take_challenge(registration.challenge(), REGISTER, session, now)
            .await?;
        if challenge.operator_id.as_deref() != Some(operator.id.as_str()) {
            return Err(PasskeyError::ChallengeOtherSession.into());
        }
        let new = registration
            .verify(&rp, &challenge.challenge)
            .map_err(PasskeyError::from)?;
        if self.store.passkeys_of_operator(&operator.id).await?.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany {
                limit: MAX_PASSKEYS,
            }
            .into());
        }
        let row = PasskeyRow {
            id: uuid::Uuid::new_v4().to_string(),
            operator_id: operator.id.clone(),
            credential_id: protocol::b64::encode(&new.credential_id),
            name: name.to_owned(),
            algorithm: new.public_key.algorithm,
            public_key: protocol::b64::encode(&new.public_key.bytes),
            sign_count: i64::from(new.sign_count),
            created_at: now,
            last_used_at: None,
        };
        let audit = AuditEntry {
            at: now,
            action: "passkey.added".into(),
            subject: operator.id.clone(),
            detail: json!({ "passkey": row.id, "name": row.name }).to_string(),
            operator_id: Some(operator.id.clone()),
        };
        if !self.store.insert_passkey(&row, &audit).await? {
            return Err(PasskeyError::AlreadyRegistered.into());
        }
        Ok(view(&row))
    }

    /// Renames `operator`'s passkey `id`, audited; another operator's is not found.
    pub async fn rename_passkey(
        &self,
        operator: &Operator,
        id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let name = passkey_name(name)?;
        let audit = AuditEntry {
            at: now,
            action: "passkey.renamed".into(),
            subject: operator.id.clone(),
            detail: json!({ "passkey": id, "name": name }).to_string(),
            operator_id: Some(operator.id.clone()),
        };
        if self
            .store
            .rename_passkey(&operator.id, id, name, &audit)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("passkey {id}")))
        }
    }

    /// Removes `operator`'s passkey `id`, audited; another operator's is not found.
    pub async fn remove_passkey(
        &self,
        operator: &Operator,
        id: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let audit = AuditEntry {
            at: now,
            action: "passkey.removed".into(),
            subject: operator.id.clone(),
            detail: json!({ "passkey": id }).to_string(),
            operator_id: Some(operator.id.clone()),
        };
        if self.store.delete_passkey(&operator.id, id, &audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("passkey {id}")))
        }
    }

    /// The options of `navigator.credentials.get` (WebAuthn §5.5,
    /// `PublicKeyCredentialRequestOptionsJSON`) for signing in from the browser whose
    /// CSRF cookie is `browser`: any discoverable passkey of this site.
    pub async fn passkey_sign_in_options(
        &self,
        browser: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<Value, AppError> {
        self.console_throttle.check(client, now)?;
        let rp = self.relying_party()?;
        let challenge = self
            .new_challenge(SIGN_IN, browser, None, client, now)
            .await?;
        Ok(json!({
            "challenge": challenge,
            "rpId": rp.id,
            "timeout": CHALLENGE_TTL * 1000,
            "userVerification": "required",
            "allowCredentials": [],
        }))
    }

    /// Signs in with the assertion in `credential` (the page's JSON) from the browser
    /// whose CSRF cookie is `browser`; returns the operator and the new session's cookie
    /// value. A refusal counts against `client`.
    pub async fn passkey_sign_in(
        &self,
        browser: &str,
        credential: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<(Operator, String), AppError> {
        self.console_throttle.check(client, now)?;
        match self.check_assertion(browser, credential, now).await {
            Ok(operator) => {
                self.console_throttle.succeeded(client);
                let token = self.start_console_session(&operator, now).await?;
                Ok((operator, token))
            }
            Err(e) => {
                if matches!(e, AppError::Passkey(_)) {
                    self.console_throttle.failed(client, now);
                }
                Err(e)
            }
        }
    }

    async fn check_assertion(
        &self,
        browser: &str,
        credential: &str,
        now: i64,
    ) -> Result<Operator, AppError> {
        if credential.len() > MAX_CREDENTIAL_JSON {
            return Err(PasskeyError::TooLarge {
                limit: MAX_CREDENTIAL_JSON,
            }
            .into());
        }
        let rp = self.relying_party()?;
        let assertion = Assertion::parse(credential).map_err(PasskeyError::from)?;
        let challenge = self
            .take_challenge(assertion.challenge(), SIGN_IN, browser, now)
            .await?;
        let found = self
            .store
            .passkey_by_credential_id(&protocol::b64::encode(assertion.credential_id()))
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        let (passkey, operator) = (found.passkey, found.operator);
        if let Some(handle) = assertion.user_handle()
            && handle != passkey.operator_id.as_bytes()
        {
            return Err(PasskeyError::WrongUser.into());
        }
        let stored = u32::try_from(passkey.sign_count)
            .map_err(|_| AppError::Internal(format!("passkey {} counter", passkey.id)))?;
        let count = assertion
            .verify(&rp, &challenge.challenge, &key_of(&passkey)?, stored)
            .map_err(PasskeyError::from)?;
        if operator.disabled_at.is_some() {
            return Err(PasskeyError::OperatorDisabled.into());
        }
        if !self
            .store
            .use_passkey(&passkey.id, passkey.sign_count, i64::from(count), now)
            .await?
        {
            return Err(PasskeyError::CounterRace.into());
        }
        Operator::from_row(&operator)
    }
}
