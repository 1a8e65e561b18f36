//! Operators managed from the console: an admin adds an operator (with a password typed
//! or made here and shown once), disables one (its sessions end at once; its sign-in gets
//! the same answer as a wrong password) or enables it again, and changes roles; the last
//! enabled admin can be neither disabled nor demoted. Every operator changes their own
//! password, proving the current one. Each change is audited with the admin who made it.

use serde_json::json;

use crate::App;
use crate::domain::operators::{NewOperator, Operator, OperatorView, Role};
use crate::error::AppError;
use crate::store::{AuditEntry, OperatorChange};

/// A password made for a new operator: 18 random bytes, 24 base64url characters.
pub fn generated_password() -> String {
    protocol::b64::random(18)
}

fn refused(change: OperatorChange, what: &str) -> Result<(), AppError> {
    match change {
        OperatorChange::Changed => Ok(()),
        OperatorChange::NotFound => Err(AppError::NotFound("operator".into())),
        OperatorChange::Unchanged => Err(AppError::bad_request(
            "operator",
            format!("the operator is {what} already"),
        )),
        OperatorChange::LastAdmin => Err(AppError::bad_request(
            "operator",
            "this is the last enabled administrator: add or enable another one first",
        )),
    }
}

impl App {
    /// `by` (an admin) adds an operator; returns it.
    pub async fn console_add_operator(
        &self,
        new: &NewOperator,
        by: &Operator,
    ) -> Result<OperatorView, AppError> {
        by.role.require(Role::Admin)?;
        self.create_operator_by(new, "console", Some(&by.id)).await
    }

    fn operator_audit(
        &self,
        action: &str,
        id: &str,
        detail: serde_json::Value,
        by: &Operator,
    ) -> AuditEntry {
        AuditEntry {
            at: self.clock.now(),
            action: action.into(),
            subject: id.to_owned(),
            detail: detail.to_string(),
            operator_id: Some(by.id.clone()),
        }
    }

    /// `by` (an admin) disables operator `id` (not themselves, not the last enabled
    /// admin): its sessions end in the same transaction.
    pub async fn disable_operator(&self, id: &str, by: &Operator) -> Result<(), AppError> {
        by.role.require(Role::Admin)?;
        if id == by.id {
            return Err(AppError::bad_request(
                "operator",
                "you cannot disable your own account",
            ));
        }
        let audit = self.operator_audit("operator.disabled", id, json!({}), by);
        refused(
            self.store
                .disable_operator(id, self.clock.now(), &audit)
                .await?,
            "disabled",
        )
    }

    /// `by` (an admin) enables operator `id` again.
    pub async fn enable_operator(&self, id: &str, by: &Operator) -> Result<(), AppError> {
        by.role.require(Role::Admin)?;
        let audit = self.operator_audit("operator.enabled", id, json!({}), by);
        refused(self.store.enable_operator(id, &audit).await?, "enabled")
    }

    /// `by` (an admin) gives operator `id` role `role` (the last enabled admin keeps
    /// theirs).
    pub async fn set_operator_role(
        &self,
        id: &str,
        role: &str,
        by: &Operator,
    ) -> Result<(), AppError> {
        by.role.require(Role::Admin)?;
        let role = Role::parse(role)
            .ok_or_else(|| AppError::bad_request("role", "must be admin, operator or viewer"))?;
        let audit = self.operator_audit(
            "operator.role_changed",
            id,
            json!({ "role": role.as_str() }),
            by,
        );
        refused(
            self.store
                .set_operator_role(id, role.as_str(), &audit)
                .await?,
            role.as_str(),
        )
    }

    /// `operator` changes their own password, proving the current one; their other
    /// sessions end (the one of `session_token`, the cookie value it was changed from,
    /// goes on).
    pub async fn change_own_password(
        &self,
        operator: &Operator,
        session_token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let row = self
            .store
            .operator_by_id(&operator.id)
            .await?
            .ok_or_else(|| AppError::NotFound("operator".into()))?;
        let matches = current.chars().count() <= kit::password::MAX_PASSWORD
            && kit::password::password_matches(current, &row.password_hash)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        if !matches {
            return Err(AppError::bad_request(
                "current_password",
                "is not your current password",
            ));
        }
        kit::password::check_new_password(new)
            .map_err(|e| AppError::bad_request("new_password", e.to_string()))?;
        if new == current {
            return Err(AppError::bad_request(
                "new_password",
                "is the same as the current one",
            ));
        }
        let hash = kit::password::hash_password(self.config.password_cost, new)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let audit = self.operator_audit(
            "operator.password_changed",
            &operator.id,
            json!({}),
            operator,
        );
        self.store
            .set_operator_password(
                &operator.id,
                &hash,
                &protocol::b64::sha256(session_token),
                &audit,
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generated_password();
        assert_eq!(a.len(), 24);
        assert!(kit::password::check_new_password(&a).is_ok());
        assert_ne!(a, generated_password());
    }
}
