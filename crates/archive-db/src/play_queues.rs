//! A user's play queue as an app last saved it (one per user, node-local).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{Param, Sql};
use crate::{Db, DbError, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct PlayQueue {
    pub song_ids: Vec<Uuid>,
    pub current_id: Option<Uuid>,
    pub position_ms: i64,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

/// Songs a saved queue holds at most.
pub const PLAY_QUEUE_MAX: usize = 5000;

type QueueRow = (String, Option<Uuid>, i64, DateTime<Utc>, String);

impl Db {
    pub async fn play_queue(&self, user_id: Uuid) -> Result<Option<PlayQueue>> {
        let mut sql = Sql::new(
            "SELECT song_ids, current_id, position_ms, changed_at, changed_by FROM play_queues WHERE user_id = ",
        );
        sql.bind(Param::Uuid(user_id));
        let row: Option<QueueRow> = self.fetch_optional_sql(sql).await?;
        row.map(|(ids, current_id, position_ms, changed_at, changed_by)| {
            let song_ids =
                serde_json::from_str(&ids).map_err(|e| DbError::invalid("song_ids", e.to_string()))?;
            Ok(PlayQueue { song_ids, current_id, position_ms, changed_at, changed_by })
        })
        .transpose()
    }
}

impl Tx {
    /// Saves `user_id`'s queue whole (an empty one removes it).
    pub async fn save_play_queue(
        &mut self,
        user_id: Uuid,
        song_ids: &[Uuid],
        current_id: Option<Uuid>,
        position_ms: i64,
        changed_by: &str,
    ) -> Result<()> {
        if song_ids.len() > PLAY_QUEUE_MAX {
            return Err(DbError::invalid("id", format!("a play queue holds at most {PLAY_QUEUE_MAX} songs")));
        }
        let mut delete = Sql::new("DELETE FROM play_queues WHERE user_id = ");
        delete.bind(Param::Uuid(user_id));
        self.execute_sql(delete).await?;
        if song_ids.is_empty() {
            return Ok(());
        }
        let ids = serde_json::to_string(song_ids).expect("ids serialise");
        let mut sql = Sql::new(
            "INSERT INTO play_queues (user_id, song_ids, current_id, position_ms, changed_at, changed_by) VALUES (",
        );
        sql.bind(Param::Uuid(user_id)).push(", ");
        sql.bind(Param::Text(ids)).push(", ");
        match current_id {
            Some(id) => sql.bind(Param::Uuid(id)),
            None => sql.push("NULL"),
        };
        sql.push(", ");
        sql.bind(Param::Int(position_ms.max(0))).push(", ");
        sql.bind(Param::Time(crate::now())).push(", ");
        sql.bind(Param::Text(changed_by.chars().take(100).collect())).push(")");
        self.execute_sql(sql).await?;
        Ok(())
    }
}
