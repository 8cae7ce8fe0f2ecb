//! Playlists and their ordered entries. An entry's place is a sort key
//! between its neighbours' (see [`crate::order`]), so adding, moving or
//! removing one entry writes that one row, and two nodes inserting into the
//! same playlist both keep their entries after sync. `position`, as the API
//! shows and takes it, is the entry's index in that order (0 is first),
//! counted when read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::library::{optional_text, required_text};
use crate::order;
use crate::page::{Page, PageRequest, SortKey};
use crate::sql::{Param, Sql};
use crate::{Db, Tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Playlist {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const PLAYLIST_COLUMNS: &str = "id, owner_id, name, description, is_public, created_at, updated_at, version";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlaylistEntry {
    pub id: Uuid,
    pub playlist_id: Uuid,
    pub song_id: Uuid,
    /// The entry's index in the playlist's order (0 is first), counted.
    #[sqlx(skip)]
    pub position: i64,
    /// Where the entry sorts (see [`crate::order`]).
    #[serde(skip)]
    pub sort_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const ENTRY_COLUMNS: &str = "id, playlist_id, song_id, sort_key, created_at, updated_at, version";

#[derive(Debug, Clone)]
pub struct NewPlaylist {
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PlaylistPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
}

/// Which playlists a list shows.
#[derive(Debug, Clone, Default)]
pub struct PlaylistFilter {
    /// Only this owner's playlists.
    pub owner_id: Option<Uuid>,
    /// The viewer: sees their own and public playlists. `None` sees all (admin).
    pub visible_to: Option<Uuid>,
}

impl Playlist {
    const SORTS: &[SortKey<Playlist>] = &[
        SortKey { name: "name", column: "name", value: |p| Param::Text(p.name.clone()) },
        SortKey { name: "created_at", column: "created_at", value: |p| Param::Time(p.created_at) },
        SortKey { name: "updated_at", column: "updated_at", value: |p| Param::Time(p.updated_at) },
    ];
    pub const SORT_NAMES: &[&str] = &["name", "created_at", "updated_at"];
}

impl PlaylistEntry {
    const SORTS: &[SortKey<PlaylistEntry>] =
        &[SortKey { name: "position", column: "sort_key", value: |e| Param::Text(e.sort_key.clone()) }];
}

pub(crate) const MAX_DESCRIPTION: usize = 10_000;

impl Db {
    pub async fn playlist(&self, id: Uuid) -> Result<Option<Playlist>> {
        self.get_row("playlists", PLAYLIST_COLUMNS, id).await
    }

    pub async fn playlists(&self, filter: &PlaylistFilter, page: &PageRequest) -> Result<Page<Playlist>> {
        let plan = page.plan(Playlist::SORTS, &["created_at", "updated_at"])?;
        let mut sql = Sql::new(&format!("SELECT {PLAYLIST_COLUMNS} FROM playlists WHERE TRUE"));
        if let Some(owner) = filter.owner_id {
            sql.push(" AND owner_id = ").bind(Param::Uuid(owner));
        }
        if let Some(viewer) = filter.visible_to {
            sql.push(" AND (is_public OR owner_id = ").bind(Param::Uuid(viewer));
            sql.push(")");
        }
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, Playlist::SORTS, |p| p.id))
    }

    /// How many songs a playlist holds.
    pub async fn playlist_entry_count(&self, playlist_id: Uuid) -> Result<i64> {
        let count = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM playlist_entries WHERE playlist_id = $1")
                .bind(playlist_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// A playlist's entries in order, each with its position.
    pub async fn playlist_entries(
        &self,
        playlist_id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<PlaylistEntry>> {
        let plan = page.plan(PlaylistEntry::SORTS, &[])?;
        let mut sql = Sql::new(&format!("SELECT {ENTRY_COLUMNS} FROM playlist_entries WHERE playlist_id = "));
        sql.bind(Param::Uuid(playlist_id));
        let mut rows: Vec<PlaylistEntry> = self.fetch_page(sql, &plan, "").await?;
        let first = match rows.first() {
            Some(entry) => self.entries_before(playlist_id, entry).await?,
            None => 0,
        };
        for (i, entry) in rows.iter_mut().enumerate() {
            entry.position = match page.order {
                crate::SortOrder::Asc => first + i as i64,
                crate::SortOrder::Desc => first - i as i64,
            };
        }
        Ok(plan.finish(rows, PlaylistEntry::SORTS, |e| e.id))
    }

    /// The position of `entry`: how many entries sort before it.
    async fn entries_before(&self, playlist_id: Uuid, entry: &PlaylistEntry) -> Result<i64> {
        let count = crate::backend::on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM playlist_entries WHERE playlist_id = $1 AND (sort_key, id) < ($2, $3)",
            )
            .bind(playlist_id)
            .bind(&entry.sort_key)
            .bind(entry.id)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }
}

impl Tx {
    pub async fn insert_playlist(&mut self, new: NewPlaylist) -> Result<Playlist> {
        let name = required_text("name", &new.name)?;
        let description = optional_text("description", new.description.as_deref(), MAX_DESCRIPTION)?;
        let id = Uuid::now_v7();
        let now = crate::now();
        self.insert_row(
            "playlists",
            vec![
                ("id", Some(Param::Uuid(id))),
                ("owner_id", Some(Param::Uuid(new.owner_id))),
                ("name", Some(Param::Text(name))),
                ("description", description.map(Param::Text)),
                ("is_public", Some(Param::Bool(new.is_public))),
                ("created_at", Some(Param::Time(now))),
                ("updated_at", Some(Param::Time(now))),
            ],
        )
        .await?;
        self.reload("playlists", PLAYLIST_COLUMNS, id).await
    }

    pub async fn update_playlist(&mut self, id: Uuid, patch: PlaylistPatch) -> Result<Playlist> {
        let mut values = Vec::new();
        if let Some(name) = patch.name {
            values.push(("name", Some(Param::Text(required_text("name", &name)?))));
        }
        if let Some(description) = patch.description {
            let description = optional_text("description", description.as_deref(), MAX_DESCRIPTION)?;
            values.push(("description", description.map(Param::Text)));
        }
        if let Some(is_public) = patch.is_public {
            values.push(("is_public", Some(Param::Bool(is_public))));
        }
        self.update_row("playlists", id, values).await?;
        self.reload("playlists", PLAYLIST_COLUMNS, id).await
    }

    pub async fn delete_playlist(&mut self, id: Uuid) -> Result<()> {
        self.delete_row("playlists", id).await
    }

    /// A key for a new place at `position` (0 is first; past the end
    /// appends), leaving out the entry `except` (one being moved).
    async fn key_at(&mut self, playlist_id: Uuid, position: i64, except: Option<Uuid>) -> Result<String> {
        let others = |sql: &mut Sql| {
            sql.bind(Param::Uuid(playlist_id));
            if let Some(except) = except {
                sql.push(" AND id <> ").bind(Param::Uuid(except));
            }
        };
        let mut count = Sql::new("SELECT count(*) FROM playlist_entries WHERE playlist_id = ");
        others(&mut count);
        let (count,): (i64,) = self.fetch_optional_sql(count).await?.unwrap_or((0,));
        let position = position.min(count);
        // The keys just below and just above the new place.
        let mut sql = Sql::new("SELECT sort_key FROM playlist_entries WHERE playlist_id = ");
        others(&mut sql);
        sql.push(" ORDER BY sort_key, id LIMIT 2 OFFSET ");
        sql.bind(Param::Int((position - 1).max(0)));
        let keys: Vec<(String,)> = self.fetch_all_sql(sql).await?;
        let mut keys = keys.into_iter().map(|(k,)| k);
        let (low, high) = match position {
            0 => (String::new(), keys.next()),
            _ => (keys.next().unwrap_or_default(), keys.next()),
        };
        // Entries that share a key (two nodes inserted at one place) sort
        // by id; a new key goes after the tied ones.
        let high = match high {
            Some(high) if high <= low => self.key_after(playlist_id, &low).await?,
            other => other,
        };
        Ok(order::between(&low, high.as_deref()))
    }

    /// The smallest key in the playlist above `key`.
    async fn key_after(&mut self, playlist_id: Uuid, key: &str) -> Result<Option<String>> {
        let mut sql = Sql::new("SELECT min(sort_key) FROM playlist_entries WHERE playlist_id = ");
        sql.bind(Param::Uuid(playlist_id));
        sql.push(" AND sort_key > ").bind(Param::Text(key.to_owned()));
        let found: Option<(Option<String>,)> = self.fetch_optional_sql(sql).await?;
        Ok(found.and_then(|(k,)| k))
    }

    /// Adds a song at `position` (0 is first; past the end or `None` appends).
    pub async fn add_playlist_entry(
        &mut self,
        playlist_id: Uuid,
        song_id: Uuid,
        position: Option<i64>,
    ) -> Result<PlaylistEntry> {
        if position.is_some_and(|p| p < 0) {
            return Err(DbError::invalid("position", "position must not be negative"));
        }
        let sort_key = self.key_at(playlist_id, position.unwrap_or(i64::MAX), None).await?;
        let id = Uuid::now_v7();
        let now = crate::now();
        self.insert_row(
            "playlist_entries",
            vec![
                ("id", Some(Param::Uuid(id))),
                ("playlist_id", Some(Param::Uuid(playlist_id))),
                ("song_id", Some(Param::Uuid(song_id))),
                ("sort_key", Some(Param::Text(sort_key))),
                ("created_at", Some(Param::Time(now))),
                ("updated_at", Some(Param::Time(now))),
            ],
        )
        .await?;
        self.entry_in(playlist_id, id).await
    }

    /// The entry, with its position, if it is in the playlist.
    async fn entry_in(&mut self, playlist_id: Uuid, entry_id: Uuid) -> Result<PlaylistEntry> {
        let mut entry: PlaylistEntry = self.reload("playlist_entries", ENTRY_COLUMNS, entry_id).await?;
        if entry.playlist_id != playlist_id {
            return Err(DbError::NotFound);
        }
        let mut sql = Sql::new("SELECT count(*) FROM playlist_entries WHERE playlist_id = ");
        sql.bind(Param::Uuid(playlist_id));
        sql.push(" AND (sort_key, id) < (").bind(Param::Text(entry.sort_key.clone()));
        sql.push(", ").bind(Param::Uuid(entry.id));
        sql.push(")");
        let (before,): (i64,) = self.fetch_optional_sql(sql).await?.unwrap_or((0,));
        entry.position = before;
        Ok(entry)
    }

    pub async fn remove_playlist_entry(&mut self, playlist_id: Uuid, entry_id: Uuid) -> Result<()> {
        self.entry_in(playlist_id, entry_id).await?;
        self.delete_row("playlist_entries", entry_id).await
    }

    /// Moves an entry to `position` (clamped to the end): one row changes.
    pub async fn move_playlist_entry(
        &mut self,
        playlist_id: Uuid,
        entry_id: Uuid,
        position: i64,
    ) -> Result<PlaylistEntry> {
        if position < 0 {
            return Err(DbError::invalid("position", "position must not be negative"));
        }
        let entry = self.entry_in(playlist_id, entry_id).await?;
        if position != entry.position {
            let sort_key = self.key_at(playlist_id, position, Some(entry_id)).await?;
            self.update_row("playlist_entries", entry_id, vec![("sort_key", Some(Param::Text(sort_key)))])
                .await?;
        }
        self.entry_in(playlist_id, entry_id).await
    }
}
