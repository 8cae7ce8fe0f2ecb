//! Playlists and their ordered entries. Positions are dense (0, 1, 2…) within
//! a playlist; adding, removing and moving shift the entries in between, and
//! each shifted entry is a recorded change like any other write.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::library::{optional_text, required_text};
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
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const ENTRY_COLUMNS: &str = "id, playlist_id, song_id, position, created_at, updated_at, version";

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
        &[SortKey { name: "position", column: "position", value: |e| Param::Int(e.position) }];
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

    /// A playlist's entries in order.
    pub async fn playlist_entries(
        &self,
        playlist_id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<PlaylistEntry>> {
        let plan = page.plan(PlaylistEntry::SORTS, &[])?;
        let mut sql = Sql::new(&format!("SELECT {ENTRY_COLUMNS} FROM playlist_entries WHERE playlist_id = "));
        sql.bind(Param::Uuid(playlist_id));
        let rows = self.fetch_page(sql, &plan, "").await?;
        Ok(plan.finish(rows, PlaylistEntry::SORTS, |e| e.id))
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

    async fn entry_count(&mut self, playlist_id: Uuid) -> Result<i64> {
        let count = crate::backend::on_tx!(self, conn => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM playlist_entries WHERE playlist_id = $1")
                .bind(playlist_id)
                .fetch_one(conn)
                .await?
        });
        Ok(count)
    }

    /// Shifts by `delta` the positions of the entries in `from..to` (to exclusive).
    async fn shift_entries(&mut self, playlist_id: Uuid, from: i64, to: i64, delta: i64) -> Result<()> {
        crate::backend::on_tx!(self, conn => {
            sqlx::query(
                "UPDATE playlist_entries SET position = position + $1, updated_at = $2 \
                 WHERE playlist_id = $3 AND position >= $4 AND position < $5",
            )
            .bind(delta)
            .bind(crate::now())
            .bind(playlist_id)
            .bind(from)
            .bind(to)
            .execute(conn)
            .await?;
        });
        Ok(())
    }

    /// Adds a song at `position` (0 is first; past the end or `None` appends).
    pub async fn add_playlist_entry(
        &mut self,
        playlist_id: Uuid,
        song_id: Uuid,
        position: Option<i64>,
    ) -> Result<PlaylistEntry> {
        let count = self.entry_count(playlist_id).await?;
        let position = match position {
            Some(p) if p < 0 => {
                return Err(DbError::Invalid("position must not be negative".into()));
            }
            Some(p) => p.min(count),
            None => count,
        };
        self.shift_entries(playlist_id, position, i64::MAX, 1).await?;
        let id = Uuid::now_v7();
        let now = crate::now();
        self.insert_row(
            "playlist_entries",
            vec![
                ("id", Some(Param::Uuid(id))),
                ("playlist_id", Some(Param::Uuid(playlist_id))),
                ("song_id", Some(Param::Uuid(song_id))),
                ("position", Some(Param::Int(position))),
                ("created_at", Some(Param::Time(now))),
                ("updated_at", Some(Param::Time(now))),
            ],
        )
        .await?;
        self.touch_playlist(playlist_id).await?;
        self.reload("playlist_entries", ENTRY_COLUMNS, id).await
    }

    async fn entry_in(&mut self, playlist_id: Uuid, entry_id: Uuid) -> Result<PlaylistEntry> {
        let entry: PlaylistEntry = self.reload("playlist_entries", ENTRY_COLUMNS, entry_id).await?;
        if entry.playlist_id != playlist_id {
            return Err(DbError::NotFound);
        }
        Ok(entry)
    }

    pub async fn remove_playlist_entry(&mut self, playlist_id: Uuid, entry_id: Uuid) -> Result<()> {
        let entry = self.entry_in(playlist_id, entry_id).await?;
        self.delete_row("playlist_entries", entry_id).await?;
        self.shift_entries(playlist_id, entry.position + 1, i64::MAX, -1).await?;
        self.touch_playlist(playlist_id).await
    }

    /// Moves an entry to `position` (clamped to the end), shifting those between.
    pub async fn move_playlist_entry(
        &mut self,
        playlist_id: Uuid,
        entry_id: Uuid,
        position: i64,
    ) -> Result<PlaylistEntry> {
        if position < 0 {
            return Err(DbError::Invalid("position must not be negative".into()));
        }
        let entry = self.entry_in(playlist_id, entry_id).await?;
        let last = self.entry_count(playlist_id).await? - 1;
        let target = position.min(last);
        if target != entry.position {
            if target < entry.position {
                self.shift_entries(playlist_id, target, entry.position, 1).await?;
            } else {
                self.shift_entries(playlist_id, entry.position + 1, target + 1, -1).await?;
            }
            self.update_row("playlist_entries", entry_id, vec![("position", Some(Param::Int(target)))])
                .await?;
            self.touch_playlist(playlist_id).await?;
        }
        self.reload("playlist_entries", ENTRY_COLUMNS, entry_id).await
    }

    /// Marks the playlist as changed (its `updated_at`) when its entries change.
    async fn touch_playlist(&mut self, playlist_id: Uuid) -> Result<()> {
        self.update_row("playlists", playlist_id, Vec::new()).await
    }
}
