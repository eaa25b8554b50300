//! People: the verified name and email of each subject, for managers' screens.

use super::Store;
use crate::Error;
use chrono::{SecondsFormat, Utc};
use timesheets_core::Person;

impl Store {
    /// Records `person`'s name and email, replacing what was known before.
    pub(crate) async fn save_person(&self, person: &Person) -> Result<(), Error> {
        let mut w = self.begin_write(None).await?;
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        on!(w.db()?, |db| {
            sqlx::query(
                "INSERT INTO people (sub, display_name, email, verified_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sub) DO UPDATE SET display_name = excluded.display_name, \
                 email = excluded.email, verified_at = excluded.verified_at",
            )
            .bind(&person.sub)
            .bind(&person.name)
            .bind(person.email.as_deref())
            .bind(&now)
            .execute(db)
            .await
            .map(drop)
        })?;
        w.commit().await
    }

    /// What is on record for `sub`, if anything.
    pub(crate) async fn person(&self, sub: &str) -> Result<Option<Person>, Error> {
        let row: Option<(String, String, Option<String>)> = on!(self.db(), |db| {
            sqlx::query_as("SELECT sub, display_name, email FROM people WHERE sub = $1")
                .bind(sub)
                .fetch_optional(db)
                .await
        })?;
        Ok(row.map(|(sub, name, email)| Person { sub, name, email }))
    }
}
