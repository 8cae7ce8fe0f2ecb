//! Archive's database layer.
//!
//! One [`Db`] runs on SQLite or PostgreSQL; nothing outside this crate knows
//! which. Reads are methods on [`Db`]; every write runs in a [`Tx`]. Writes to
//! synced tables are recorded in `sync_changes` by the capture triggers that
//! the migrations install, in the same transaction, whatever SQL made them
//! (see `docs/ARCHITECTURE.md`, "The write path").

mod attempts;
mod backend;
mod backup;
pub use backup::BackupOutcome;
mod catalog;
mod checkpoints;
pub use checkpoints::BackgroundCheckpoints;
mod changes;
mod commits;
mod content_files;
mod error;
mod favourites;
mod import_runs;
mod jobs;
mod library;
mod listening;
mod media;
mod migrations;
pub mod normalize;
pub(crate) mod order;
mod page;
mod play_queues;
mod playlists;
mod position;
mod postgres;
mod references;
mod schema;
mod search;
mod settings;
mod sql;
mod sqlite;
mod subsonic_keys;
pub mod sync;
mod tokens;
mod transfers;
mod users;
mod words;

pub use attempts::{AttemptSubject, FailureCount};
pub use backend::{Backend, Capture, DataStamp, Db, DbOptions, PoolUsage, SQLITE_FILE, Tx};
pub use catalog::{ALBUM_PAGE_MAX, ARTIST_ENTRIES_MAX, AlbumEntry, AlbumOrder, ArtistEntry, GenreEntry};
pub use changes::{ChangeOp, ChangeRecord};
pub use commits::LogCommits;
pub use content_files::{ContentFile, ContentOrigin, SweepDue};
pub use error::{ConnectError, DbError, Result, Unavailable};
pub use favourites::Favourite;
pub use import_runs::{INTERRUPTED, ImportCounts, ImportEnd, ImportRun, NewImportRun};
pub use jobs::{Job, JobLock};
pub use library::{
    Album, AlbumFilter, AlbumPatch, Artist, ArtistPatch, Genre, GenrePatch, NewAlbum, NewArtist, NewGenre,
    NewSong, Song, SongCredits, SongFilter, SongPatch,
};
pub use listening::{ListeningData, RecentPlay, SongMarks, SongPlayCount};
pub use media::{FileLocation, FileSource, FileStatus, HashRecorded, ImportedSong, NewFileLocation};
pub use migrations::MigrationStatus;
pub use page::{Page, PageRequest, SortOrder};
pub use play_queues::{PLAY_QUEUE_MAX, PlayQueue};
pub use playlists::{NewPlaylist, Playlist, PlaylistEntry, PlaylistFilter, PlaylistPatch};
pub use position::{BadPosition, LogPosition};
pub use schema::{ColumnInfo, SYNCED_TABLES, TableInfo};
pub use search::{SEARCH_LIMIT_MAX, SEARCH_OFFSET_MAX, SearchPage, SearchRequest, query_words};
pub use settings::SharedSetting;
pub use subsonic_keys::{APP_PASSWORDS_MAX, SubsonicAppPassword, SubsonicKey};
pub use sync::{PushAnswer, PushChange, PushOutcome, PushStatus, RowImage, RowState};
pub use tokens::AuthToken;
pub use transfers::{FileTransfer, FilesSummary, PinKind, TransferReason};
pub use users::{NewUser, Role, User, UserPatch};

/// The current time, truncated to microseconds: the precision both databases
/// keep, so a value written and read back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
