//! A user's favourite albums and artists (a song's favourite is in
//! `listening_data`, beside its rating). One row per user and album or
//! artist, its id a UUID v5 of both, so two nodes that star the same album
//! converge on one row; unstarring deletes the row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::sql::{MAX_PARAMS, Param, Sql};
use crate::{Db, Tx};

/// What a user can star besides a song.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Favourite {
    Album(Uuid),
    Artist(Uuid),
}

impl Favourite {
    /// The id of `user_id`'s favourite row for this album or artist (the
    /// same on every node).
    pub fn row_id(self, user_id: Uuid) -> Uuid {
        favourite_id(user_id, self)
    }

    fn column_and_id(self) -> (&'static str, Uuid) {
        match self {
            Favourite::Album(id) => ("album_id", id),
            Favourite::Artist(id) => ("artist_id", id),
        }
    }
}

/// The id of a user's favourite row: UUID v5 over the user's id, the kind
/// and the album's or artist's id.
pub(crate) fn favourite_id(user_id: Uuid, favourite: Favourite) -> Uuid {
    let (column, id) = favourite.column_and_id();
    let mut name = Vec::with_capacity(40);
    name.extend_from_slice(user_id.as_bytes());
    name.extend_from_slice(column.as_bytes());
    name.extend_from_slice(id.as_bytes());
    Uuid::new_v5(&FAVOURITE_NAMESPACE, &name)
}

/// Namespace of favourite-row ids (fixed forever: ids derived from it must
/// agree on every node).
const FAVOURITE_NAMESPACE: Uuid = Uuid::from_u128(0x2d7e_4b1c_9f3a_4c6d_8e25_61a0_b4f9_7c02);

impl Tx {
    /// Stars (`true`) or unstars an album or artist for the user. Starring
    /// what is starred, or unstarring what is not, changes nothing.
    pub async fn set_favourite_of(
        &mut self,
        user_id: Uuid,
        favourite: Favourite,
        starred: bool,
    ) -> Result<()> {
        let id = favourite_id(user_id, favourite);
        let sql = if starred {
            let (column, target) = favourite.column_and_id();
            let now = crate::now();
            let mut sql = Sql::new(&format!(
                "INSERT INTO favourites (id, user_id, {column}, created_at, updated_at) VALUES ("
            ));
            sql.bind(Param::Uuid(id)).push(", ");
            sql.bind(Param::Uuid(user_id)).push(", ");
            sql.bind(Param::Uuid(target)).push(", ");
            sql.bind(Param::Time(now)).push(", ");
            sql.bind(Param::Time(now)).push(") ON CONFLICT (id) DO NOTHING");
            sql
        } else {
            let mut sql = Sql::new("DELETE FROM favourites WHERE id = ");
            sql.bind(Param::Uuid(id));
            sql
        };
        self.execute_sql(sql).await?;
        Ok(())
    }
}

impl Db {
    /// When the user starred each of `ids` (albums or artists) that they
    /// starred; the others are missing from the map.
    pub async fn favourites_among(
        &self,
        user_id: Uuid,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, DateTime<Utc>>> {
        let mut starred = HashMap::new();
        for chunk in ids.chunks((MAX_PARAMS - 1) / 2) {
            let mut sql = Sql::new(
                "SELECT coalesce(album_id, artist_id) AS target, created_at FROM favourites WHERE user_id = ",
            );
            sql.bind(Param::Uuid(user_id));
            sql.push(" AND (album_id IN ").bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            sql.push(" OR artist_id IN ").bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            sql.push(")");
            let rows: Vec<(Uuid, DateTime<Utc>)> = self.fetch_all_sql(sql).await?;
            starred.extend(rows);
        }
        Ok(starred)
    }

    /// The user's favourite albums (`albums` true) or artists, newest star
    /// first, at most `limit`: their ids and when they were starred.
    pub async fn favourites_of(
        &self,
        user_id: Uuid,
        albums: bool,
        limit: i64,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>> {
        let column = if albums { "album_id" } else { "artist_id" };
        let mut sql = Sql::new(&format!("SELECT {column}, created_at FROM favourites WHERE user_id = "));
        sql.bind(Param::Uuid(user_id));
        sql.push(&format!(" AND {column} IS NOT NULL ORDER BY created_at DESC, id LIMIT "));
        sql.bind(Param::Int(limit));
        self.fetch_all_sql(sql).await
    }
}
