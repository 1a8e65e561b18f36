//! Console operators, their roles, password sign-in and browser sessions.
//!
//! The first admin is made from the command line (`operator-create`), never with a default
//! password. A session is a random value in the browser's cookie; only its SHA-256 is
//! stored, so signing out (or deleting the row) ends it everywhere. It ends after
//! [`SESSION_IDLE`] seconds unused and [`SESSION_ABSOLUTE`] seconds after sign-in.
//!
//! Failed sign-ins are counted per address typed, in the database (so across instances),
//! whether or not an operator has that address: [`SIGN_IN_MAX_FAILURES`] within
//! [`SIGN_IN_LOCK`] seconds lock the address for [`SIGN_IN_LOCK`] seconds, and the answers
//! never tell whether the address exists. Per client address, [`crate::Inner::console_throttle`]
//! (in memory, `kit::throttle`) bounds guessing across many addresses.
//!
//! [`App::console_sign_in`] is the password path; passkeys ([`crate::domain::passkeys`])
//! are the other, and both end in [`App::start_console_session`].

use std::net::IpAddr;

use serde_json::json;

use crate::App;
use crate::error::AppError;
use crate::store::{AuditEntry, OperatorRow, SignInFailures};

/// Seconds a session lasts unused.
pub const SESSION_IDLE: i64 = 30 * 60;
/// Seconds a session lasts at most after sign-in.
pub const SESSION_ABSOLUTE: i64 = 12 * 3600;
/// A session's last use is written at most this often (seconds).
const SESSION_TOUCH: i64 = 60;
/// Failed sign-ins for one address that lock it.
pub const SIGN_IN_MAX_FAILURES: i64 = 5;
/// Seconds failures are counted over, and a lock lasts.
pub const SIGN_IN_LOCK: i64 = 15 * 60;
/// Failed sign-ins (any addresses) one client address may make per window.
pub const CLIENT_MAX_FAILURES: u32 = 50;
/// Longest email address and display name accepted.
const MAX_EMAIL: usize = 254;
const MAX_NAME: usize = 200;

/// What an operator may do. Each role may do what the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Programs, imports, registrations, revocation.
    Operator,
    /// Everything, operators and settings included.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The one rule of the console's roles: `self` may do what needs `needs`.
    pub fn allows(self, needs: Role) -> bool {
        self >= needs
    }

    /// Ok when `self` may do what needs `needs`, else [`AppError::Forbidden`].
    pub fn require(self, needs: Role) -> Result<(), AppError> {
        if self.allows(needs) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                role: self.as_str(),
                needs: needs.as_str(),
            })
        }
    }
}

/// A signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl Operator {
    pub(crate) fn from_row(row: &OperatorRow) -> Result<Operator, AppError> {
        Ok(Operator {
            id: row.id.clone(),
            email: row.email.clone(),
            name: row.display_name.clone(),
            role: Role::parse(&row.role).ok_or_else(|| {
                AppError::Internal(format!("operator {} has role {:?}", row.id, row.role))
            })?,
        })
    }
}

/// An operator as the command line lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub created_at: i64,
    pub disabled: bool,
}

/// A new operator.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

/// The lower-cased, trimmed address: the key an operator and its failures are found by.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn view(row: &OperatorRow, role: Role) -> OperatorView {
    OperatorView {
        id: row.id.clone(),
        email: row.email.clone(),
        name: row.display_name.clone(),
        role: role.as_str(),
        created_at: row.created_at,
        disabled: row.disabled_at.is_some(),
    }
}

impl App {
    /// Creates an operator (`via` says from where: the command line), audited.
    pub async fn create_operator(
        &self,
        new: &NewOperator,
        via: &str,
    ) -> Result<OperatorView, AppError> {
        self.create_operator_by(new, via, None).await
    }

    /// [`App::create_operator`], audited with the operator who made it (none: the command
    /// line).
    pub async fn create_operator_by(
        &self,
        new: &NewOperator,
        via: &str,
        by: Option<&str>,
    ) -> Result<OperatorView, AppError> {
        let email = new.email.trim();
        if email.chars().count() > MAX_EMAIL
            || email.chars().any(char::is_whitespace)
            || !email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        {
            return Err(AppError::bad_request("email", "is not an email address"));
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AppError::bad_request(
                "name",
                format!("must be 1 to {MAX_NAME} characters, no control characters"),
            ));
        }
        let role = Role::parse(&new.role)
            .ok_or_else(|| AppError::bad_request("role", "must be admin, operator or viewer"))?;
        kit::password::check_new_password(&new.password)
            .map_err(|e| AppError::bad_request("password", e.to_string()))?;
        let password_hash = kit::password::hash_password(self.config.password_cost, &new.password)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock.now();
        let row = OperatorRow {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.to_owned(),
            email_key: email_key(email),
            display_name: name.to_owned(),
            role: role.as_str().to_owned(),
            password_hash,
            created_at: now,
            disabled_at: None,
        };
        let audit = AuditEntry {
            at: now,
            action: "operator.created".into(),
            subject: row.id.clone(),
            detail: json!({ "email": row.email, "role": row.role, "via": via }).to_string(),
            operator_id: by.map(str::to_owned),
        };
        if !self.store.insert_operator(&row, &audit).await? {
            return Err(AppError::bad_request(
                "email",
                "an operator with this email address exists already",
            ));
        }
        Ok(view(&row, role))
    }

    /// Every operator, oldest first.
    pub async fn operators(&self) -> Result<Vec<OperatorView>, AppError> {
        self.store
            .operators()
            .await?
            .iter()
            .map(|row| Ok(view(row, Operator::from_row(row)?.role)))
            .collect()
    }

    /// Signs in with an address and a password from `client`; returns the operator and the
    /// new session's cookie value. Wrong password, unknown address and disabled operator
    /// get the same answer after the same work (a password hash checked).
    pub async fn console_sign_in(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<(Operator, String), AppError> {
        self.console_throttle.check(client, now)?;
        let key = email_key(email);
        let key = if key.chars().count() > MAX_EMAIL {
            String::new()
        } else {
            key
        };
        let failures = self.store.sign_in_failures(&key).await?;
        if let Some(f) = failures
            && f.locked_until > now
        {
            return Err(AppError::SignInLocked {
                minutes: (f.locked_until - now + 59) / 60,
            });
        }
        let row = self.store.operator_by_email_key(&key).await?;
        let phc = match &row {
            Some(r) => r.password_hash.clone(),
            None => kit::password::dummy_hash(self.config.password_cost)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let matches = password.chars().count() <= kit::password::MAX_PASSWORD
            && kit::password::password_matches(password, &phc)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        match row.filter(|r| matches && r.disabled_at.is_none()) {
            Some(row) => {
                self.console_throttle.succeeded(client);
                if failures.is_some() {
                    self.store.clear_sign_in_failures(&key).await?;
                }
                let operator = Operator::from_row(&row)?;
                let token = self.start_console_session(&operator, now).await?;
                Ok((operator, token))
            }
            None => {
                self.console_throttle.failed(client, now);
                let mut f = match failures {
                    Some(f) if f.first_at + SIGN_IN_LOCK > now => f,
                    _ => SignInFailures {
                        failures: 0,
                        first_at: now,
                        locked_until: 0,
                    },
                };
                f.failures += 1;
                if f.failures >= SIGN_IN_MAX_FAILURES {
                    f = SignInFailures {
                        failures: 0,
                        first_at: now,
                        locked_until: now + SIGN_IN_LOCK,
                    };
                }
                self.store.set_sign_in_failures(&key, f).await?;
                Err(AppError::SignInRefused)
            }
        }
    }

    /// Starts a session for `operator` (after a password or a passkey); returns the cookie
    /// value.
    pub async fn start_console_session(
        &self,
        operator: &Operator,
        now: i64,
    ) -> Result<String, AppError> {
        let token = protocol::b64::random(32);
        self.store
            .insert_console_session(&protocol::b64::sha256(&token), &operator.id, now)
            .await?;
        Ok(token)
    }

    /// The operator of a live session cookie value; the session's last use is moved on.
    pub async fn console_session(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<Operator>, AppError> {
        let hash = protocol::b64::sha256(token);
        let Some((row, seen)) = self
            .store
            .console_session(&hash, now - SESSION_ABSOLUTE, now - SESSION_IDLE)
            .await?
        else {
            return Ok(None);
        };
        if now - seen >= SESSION_TOUCH {
            self.store.touch_console_session(&hash, now).await?;
        }
        Ok(Some(Operator::from_row(&row)?))
    }

    pub async fn end_console_session(&self, token: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_console_session(&protocol::b64::sha256(token))
            .await?)
    }

    /// Deletes the sessions that ended by time.
    pub async fn purge_console_sessions(&self, now: i64) -> Result<u64, AppError> {
        Ok(self
            .store
            .purge_console_sessions(now - SESSION_ABSOLUTE, now - SESSION_IDLE)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_ones_below_may() {
        assert!(Role::Admin.allows(Role::Operator) && Role::Admin.allows(Role::Viewer));
        assert!(Role::Operator.allows(Role::Operator) && !Role::Operator.allows(Role::Admin));
        assert!(Role::Viewer.allows(Role::Viewer) && !Role::Viewer.allows(Role::Operator));
        assert!(matches!(
            Role::Viewer.require(Role::Operator),
            Err(AppError::Forbidden {
                role: "viewer",
                needs: "operator"
            })
        ));
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn addresses_are_keyed_trimmed_and_lower_cased() {
        assert_eq!(email_key("  Ada@Example.ORG "), "ada@example.org");
    }
}
