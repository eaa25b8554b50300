//! An entry's history: its rows of the audit trail, for the people who may see
//! the entry.

use super::entries::parse_time;
use super::Store;
use crate::Error;
use timesheets_core::HistoryEvent;

impl Store {
    /// The audit trail of entry `id`, oldest first: for its owner, or for a
    /// caller who may decide others' entries (`may_decide`). Anyone else is
    /// told it does not exist, as with the entry itself.
    pub(crate) async fn history(
        &self,
        caller: &str,
        may_decide: bool,
        id: &str,
    ) -> Result<Vec<HistoryEvent>, Error> {
        let owner: Option<String> = on!(self.db(), |db| {
            sqlx::query_scalar("SELECT owner FROM entries WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await
        })?;
        match owner {
            Some(owner) if owner == caller || may_decide => {}
            _ => return Err(Error::NotFound),
        }
        let rows: Vec<(String, String, String, String, String)> = on!(self.db(), |db| {
            sqlx::query_as(
                "SELECT audit.at, audit.actor, COALESCE(people.display_name, audit.actor), \
                 audit.action, audit.detail FROM audit \
                 LEFT JOIN people ON people.sub = audit.actor \
                 WHERE audit.entry_id = $1 ORDER BY audit.id",
            )
            .bind(id)
            .fetch_all(db)
            .await
        })?;
        rows.into_iter()
            .map(|(at, actor, actor_name, action, detail)| {
                Ok(HistoryEvent {
                    at: parse_time(&at)?,
                    actor,
                    actor_name,
                    action,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| Error::Internal(format!("stored audit detail: {e}")))?,
                })
            })
            .collect()
    }
}
