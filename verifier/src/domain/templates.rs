//! Saved request templates: a named [`Template`] (issuer, achievement, the claims asked for
//! and which of them are optional) to create requests from by id, through the API
//! (`/api/templates`) and the desk's form.

use serde::{Deserialize, Serialize};

use protocol::clock::Clock;

use super::requests::query::{Template, template_query};
use crate::error::Error;
use crate::store::{Store, TemplateRow};

/// The longest template name, in characters.
pub const NAME_MAX: usize = 100;

/// A saved template as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedTemplate {
    pub id: String,
    pub name: String,
    /// `issuer`, optional `achievement_id`, `disclose` and `optional` (claims).
    #[schema(value_type = Object)]
    pub template: Template,
    pub created_at: i64,
}

fn view(row: TemplateRow) -> Result<SavedTemplate, Error> {
    let template = serde_json::from_str(&row.body)
        .map_err(|e| Error::Internal(format!("stored template {}: {e}", row.id)))?;
    Ok(SavedTemplate {
        id: row.id,
        name: row.name,
        template,
        created_at: row.created_at,
    })
}

/// Saved templates: what they need is the store and the clock.
#[derive(Clone, Debug)]
pub struct Templates {
    store: Store,
    clock: Clock,
}

impl Templates {
    pub fn new(store: Store, clock: Clock) -> Templates {
        Templates { store, clock }
    }

    /// Saves `template` under `name` (unique), after checking it builds a valid query.
    #[expect(clippy::expect_used, reason = "a template serialises")]
    pub async fn save(&self, name: &str, template: Template) -> Result<SavedTemplate, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(Error::invalid(
                "name",
                format!("a template name has 1 to {NAME_MAX} characters"),
            ));
        }
        template_query(&template)?
            .validate()
            .map_err(|e| Error::invalid("template", e.to_string()))?;
        let row = TemplateRow {
            id: protocol::b64::random(12),
            name: name.to_owned(),
            body: serde_json::to_string(&template).expect("a template serialises"),
            created_at: self.clock.now(),
        };
        if !self.store.insert_template(&row).await? {
            return Err(Error::invalid(
                "name",
                format!("a template named {name:?} exists already"),
            ));
        }
        view(row)
    }

    /// Every saved template, by name.
    pub async fn list(&self) -> Result<Vec<SavedTemplate>, Error> {
        self.store
            .templates()
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// Saved template `id`.
    pub async fn get(&self, id: &str) -> Result<SavedTemplate, Error> {
        view(
            self.store
                .template(id)
                .await?
                .ok_or_else(|| Error::NotFound("template".into()))?,
        )
    }

    /// Deletes saved template `id`; requests made from it keep their query.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        if self.store.delete_template(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("template".into()))
        }
    }
}
