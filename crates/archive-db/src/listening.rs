//! Each user's listening data: favourite and rating per song (one row per
//! user and song, with a deterministic id so that two nodes converge on one
//! row), and plays, one row per play. Play counts are counted from plays, so
//! plays on two nodes add up after sync instead of overwriting each other.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::library::Song;
use crate::page::{Page, PageRequest, SortKey};
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

/// A user's data for one song.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct ListeningData {
    pub song_id: Uuid,
    pub favourite: bool,
    pub rating: Option<i64>,
    pub play_count: i64,
    pub last_played_at: Option<DateTime<Utc>>,
}

/// What a user marked a song with, as a list of songs shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SongMarks {
    pub favourite: bool,
    pub rating: Option<i64>,
    /// When either was last changed.
    pub changed_at: Option<DateTime<Utc>>,
}

/// One play, newest first in lists.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RecentPlay {
    pub id: Uuid,
    pub song_id: Uuid,
    pub played_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SongPlayCount {
    pub song_id: Uuid,
    pub play_count: i64,
    pub last_played_at: DateTime<Utc>,
}

/// The id of a user's listening row for a song: UUID v5 over both ids.
pub(crate) fn listening_id(user_id: Uuid, song_id: Uuid) -> Uuid {
    let mut name = Vec::with_capacity(32);
    name.extend_from_slice(user_id.as_bytes());
    name.extend_from_slice(song_id.as_bytes());
    Uuid::new_v5(&LISTENING_NAMESPACE, &name)
}

/// Namespace of listening-row ids (fixed forever: ids derived from it must
/// agree on every node).
const LISTENING_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_5a8e_2f0b_4d4e_9a51_7b3c_0e7d_1a01);

impl Db {
    pub async fn listening(&self, user_id: Uuid, song_id: Uuid) -> Result<ListeningData> {
        let row = crate::backend::on_pool!(self, pool => {
            sqlx::query_as::<_, ListeningData>(
                "SELECT $2 AS song_id, \
                    coalesce((SELECT favourite FROM listening_data WHERE user_id = $1 AND song_id = $2), FALSE) AS favourite, \
                    (SELECT rating FROM listening_data WHERE user_id = $1 AND song_id = $2) AS rating, \
                    (SELECT count(*) FROM plays WHERE user_id = $1 AND song_id = $2) AS play_count, \
                    (SELECT max(played_at) FROM plays WHERE user_id = $1 AND song_id = $2) AS last_played_at",
            )
            .bind(user_id)
            .bind(song_id)
            .fetch_one(pool)
            .await?
        });
        Ok(row)
    }

    /// The user's favourite and rating for each of `song_ids` that has
    /// either (a song missing from the map has neither).
    pub async fn song_marks(
        &self,
        user_id: Uuid,
        song_ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, SongMarks>> {
        let mut marks = std::collections::HashMap::new();
        for chunk in song_ids.chunks(crate::sql::MAX_PARAMS - 1) {
            let mut sql = Sql::new(
                "SELECT song_id, favourite, rating, updated_at FROM listening_data WHERE user_id = ",
            );
            sql.bind(Param::Uuid(user_id));
            sql.push(" AND song_id IN ").bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
            let rows: Vec<(Uuid, bool, Option<i64>, DateTime<Utc>)> = self.fetch_all_sql(sql).await?;
            marks.extend(rows.into_iter().map(|(id, favourite, rating, at)| {
                (id, SongMarks { favourite, rating, changed_at: Some(at) })
            }));
        }
        Ok(marks)
    }

    /// The user's favourite songs, by title.
    pub async fn favourite_songs(&self, user_id: Uuid, page: &PageRequest) -> Result<Page<Song>> {
        let sorts: &[SortKey<Song>] =
            &[SortKey { name: "title", column: "title_key", value: |s| Param::Text(s.title_key.clone()) }];
        let plan = page.plan(sorts, &[])?;
        let mut sql = Sql::new(
            "SELECT s.id, s.title, s.title_key, s.artist_id, s.album_id, s.genre_id, s.track_number, \
             s.disc_number, s.year, s.duration_ms, s.format, s.file_size, s.bitrate, s.sample_rate, \
             s.channels, s.content_hash, s.created_at, s.updated_at, s.version \
             FROM songs s JOIN listening_data l ON l.song_id = s.id \
             WHERE l.favourite AND l.user_id = ",
        );
        sql.bind(Param::Uuid(user_id));
        let rows = self.fetch_page(sql, &plan, "s.").await?;
        Ok(plan.finish(rows, sorts, |s| s.id))
    }

    /// The user's plays, newest first.
    pub async fn recent_plays(&self, user_id: Uuid, page: &PageRequest) -> Result<Page<RecentPlay>> {
        let sorts: &[SortKey<RecentPlay>] =
            &[SortKey { name: "played_at", column: "played_at", value: |p| Param::Time(p.played_at) }];
        let page = PageRequest { order: crate::SortOrder::Desc, ..page.clone() };
        let plan = page.plan(sorts, &["played_at"])?;
        let mut sql = Sql::new("SELECT id, song_id, played_at FROM plays WHERE user_id = ");
        sql.bind(Param::Uuid(user_id));
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, sorts, |p| p.id))
    }

    /// The user's most played songs (offset paging: the order is an aggregate).
    pub async fn most_played(&self, user_id: Uuid, limit: i64, offset: i64) -> Result<Vec<SongPlayCount>> {
        if !(1..=crate::page::MAX_LIMIT).contains(&limit) || offset < 0 {
            return Err(DbError::invalid(
                "limit",
                format!("limit must be between 1 and {} and offset not negative", crate::page::MAX_LIMIT),
            ));
        }
        let rows = crate::backend::on_pool!(self, pool => {
            sqlx::query_as::<_, SongPlayCount>(
                "SELECT song_id, count(*) AS play_count, max(played_at) AS last_played_at \
                 FROM plays WHERE user_id = $1 GROUP BY song_id \
                 ORDER BY play_count DESC, last_played_at DESC, song_id LIMIT $2 OFFSET $3",
            )
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

/// A rating is from 1 to 5 (or none).
pub(crate) fn check_rating(rating: Option<i64>) -> Result<()> {
    match rating {
        Some(r) if !(1..=5).contains(&r) => Err(DbError::invalid("rating", "rating must be between 1 and 5")),
        _ => Ok(()),
    }
}

impl Tx {
    /// Creates or updates the user's listening row for a song.
    async fn upsert_listening(
        &mut self,
        user_id: Uuid,
        song_id: Uuid,
        column: &str,
        value: Option<Param>,
    ) -> Result<()> {
        let now = crate::now();
        let mut sql = Sql::new(&format!(
            "INSERT INTO listening_data (id, user_id, song_id, {column}, created_at, updated_at) VALUES ("
        ));
        sql.bind(Param::Uuid(listening_id(user_id, song_id))).push(", ");
        sql.bind(Param::Uuid(user_id)).push(", ");
        sql.bind(Param::Uuid(song_id)).push(", ");
        match value {
            Some(v) => sql.bind(v),
            None => sql.push("NULL"),
        };
        sql.push(", ");
        sql.bind(Param::Time(now)).push(", ");
        sql.bind(Param::Time(now));
        sql.push(&format!(
            ") ON CONFLICT (user_id, song_id) DO UPDATE SET {column} = excluded.{column}, updated_at = excluded.updated_at"
        ));
        self.execute_sql(sql).await?;
        Ok(())
    }

    pub async fn set_favourite(&mut self, user_id: Uuid, song_id: Uuid, favourite: bool) -> Result<()> {
        self.upsert_listening(user_id, song_id, "favourite", Some(Param::Bool(favourite))).await
    }

    /// Sets a rating from 1 to 5, or clears it.
    pub async fn set_rating(&mut self, user_id: Uuid, song_id: Uuid, rating: Option<i64>) -> Result<()> {
        check_rating(rating)?;
        self.upsert_listening(user_id, song_id, "rating", rating.map(Param::Int)).await
    }

    pub async fn record_play(
        &mut self,
        user_id: Uuid,
        song_id: Uuid,
        played_at: DateTime<Utc>,
    ) -> Result<RecentPlay> {
        let id = Uuid::now_v7();
        self.insert_row(
            "plays",
            vec![
                ("id", Some(Param::Uuid(id))),
                ("user_id", Some(Param::Uuid(user_id))),
                ("song_id", Some(Param::Uuid(song_id))),
                ("played_at", Some(Param::Time(played_at))),
            ],
        )
        .await?;
        Ok(RecentPlay { id, song_id, played_at })
    }
}
