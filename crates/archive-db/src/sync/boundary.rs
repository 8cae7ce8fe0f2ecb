//! The trust boundary of sync: what a slave's push may write on the master.
//!
//! A slave key is not a user. The master judges every pushed change by the
//! rules the API applies to the user who made it (its author, as the master
//! knows them), after the same value checks the API makes, through the same
//! functions. What a slave claims is never taken on trust: natural keys are
//! recomputed, and a change its author may not make is refused.
//!
//! | Table | A push may |
//! |---|---|
//! | users | nothing: accounts are changed on the master only |
//! | shared_settings | nothing: an admin changes them on the master |
//! | artists, genres, albums, songs | create and edit, by a moderator or admin, or by the node itself (imports); never delete |
//! | playlists, playlist_entries | what the playlist's owner (or an admin) may do; the owner never changes |
//! | listening_data, favourites | the user's own rows only, with their deterministic id |
//! | plays | add the user's own plays; never change or remove one |
//!
//! A change with no author is the node's own (an import); on a user's own
//! rows it counts as that user's (a change recorded before authors were).
//! So a stolen slave key can write what a moderator can, plus any user's
//! playlists and listening data, and never an account (see docs/SYNC.md).

use uuid::Uuid;

use super::tables::{RowImage, StoredRow, SyncTable, to_json};
use crate::error::{DbError, Result};
use crate::library::{
    MAX_BIOGRAPHY, NewSong, album_natural_key, check_range, optional_text, required_text, song_values,
};
use crate::playlists::MAX_DESCRIPTION;
use crate::sql::{Param, Sql, Value};
use crate::users::USER_COLUMNS;
use crate::{Role, Tx, User, normalize};

/// What a pushed change does to its row on the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Insert,
    Update,
    Delete,
}

/// Who made a pushed change, as the master knows them.
enum Author {
    /// The slave node itself: imports and the command line.
    Node,
    User(User),
}

const LIBRARY: &[&str] = &["artists", "genres", "albums", "songs"];

fn refuse(why: impl Into<String>) -> DbError {
    DbError::Forbidden(why.into())
}

impl Tx {
    /// Refuses a pushed change its author may not make (see the module
    /// documentation), given the master's row now (`current`) and the
    /// pushed row (`image`, `None` for a delete).
    pub(crate) async fn authorise_pushed(
        &mut self,
        table: &SyncTable,
        author: Option<Uuid>,
        current: Option<&StoredRow>,
        image: Option<&RowImage>,
    ) -> Result<()> {
        let op = match (current, image) {
            (_, None) => Op::Delete,
            (None, Some(_)) => Op::Insert,
            (Some(_), Some(_)) => Op::Update,
        };
        match table.name {
            "users" => return Err(refuse("accounts are changed on the master only")),
            "shared_settings" => return Err(refuse("shared settings are changed by an admin on the master")),
            _ => {}
        }
        let author = self.author(author).await?;
        if LIBRARY.contains(&table.name) {
            return match (op, &author) {
                (Op::Delete, _) => Err(refuse(format!(
                    "deleting from {} is done by an admin on the master; a slave carries at most a moderator's rights",
                    table.name
                ))),
                (_, Author::Node) => Ok(()),
                (_, Author::User(user)) if user.role >= Role::Moderator => Ok(()),
                (_, Author::User(user)) => {
                    Err(refuse(format!("{} is a {} and may not edit the library", user.email, user.role)))
                }
            };
        }
        if table.name == "plays" && op != Op::Insert {
            return Err(refuse("plays are only ever added"));
        }
        let owner = self.owner(table, current, image).await?;
        if op == Op::Update
            && let (Some(current), Some(image)) = (current, image)
        {
            let fixed = owner_column(table.name);
            if current.image.get(fixed) != image.get(fixed) {
                return Err(refuse(format!("{fixed} of {} cannot change", table.name)));
            }
        }
        // Admins may change anyone's playlists through the API; listening
        // data and plays are only ever the user's own.
        let admin_may = matches!(table.name, "playlists" | "playlist_entries");
        match author {
            Author::Node => Ok(()),
            Author::User(user) if Some(user.id) == owner => Ok(()),
            Author::User(user) if admin_may && user.role == Role::Admin => Ok(()),
            Author::User(user) => {
                Err(refuse(format!("{} may not change another user's {}", user.email, table.name)))
            }
        }
    }

    async fn author(&mut self, author: Option<Uuid>) -> Result<Author> {
        let Some(id) = author else { return Ok(Author::Node) };
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = "));
        sql.bind(Param::Uuid(id));
        match self.fetch_optional_sql::<User>(sql).await? {
            Some(user) => Ok(Author::User(user)),
            None => Err(refuse(format!("made by user {id}, whom this master does not know"))),
        }
    }

    /// The user who owns a row of a user's table, on the master: the
    /// current row's owner (the new row's, for an insert).
    async fn owner(
        &mut self,
        table: &SyncTable,
        current: Option<&StoredRow>,
        image: Option<&RowImage>,
    ) -> Result<Option<Uuid>> {
        let row = current.map(|c| &c.image).or(image);
        let named = |column: &str| {
            row.and_then(|r| r.get(column)).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok())
        };
        match table.name {
            "playlist_entries" => {
                let Some(playlist) = named("playlist_id") else { return Ok(None) };
                let mut sql = Sql::new("SELECT owner_id FROM playlists WHERE id = ");
                sql.bind(Param::Uuid(playlist));
                let owner: Option<(Uuid,)> = self.fetch_optional_sql(sql).await?;
                match owner {
                    Some((owner,)) => Ok(Some(owner)),
                    None => Err(DbError::MissingReference(format!("playlist {playlist}"))),
                }
            }
            name => Ok(named(owner_column(name))),
        }
    }
}

/// The column that ties a row of a user's table to its owner (and may not
/// change).
fn owner_column(table: &str) -> &'static str {
    match table {
        "playlists" => "owner_id",
        "playlist_entries" => "playlist_id",
        _ => "user_id",
    }
}

/// The pushed row after the API's value checks, made by the same functions
/// the API uses: text cleaned and within its length, numbers within their
/// ranges, and natural keys recomputed here (never taken from the slave).
/// The image's types were checked already ([`SyncTable::values`]).
pub(crate) fn checked_image(table: &SyncTable, id: Uuid, image: &RowImage) -> Result<RowImage> {
    let text = |column: &str| image.get(column).and_then(|v| v.as_str());
    let int = |column: &str| image.get(column).and_then(|v| v.as_i64());
    let uuid = |column: &str| text(column).and_then(|s| s.parse::<Uuid>().ok());
    let mut checked: Vec<(&'static str, Value)> = Vec::new();
    match table.name {
        "artists" | "genres" => {
            let name = required_text("name", text("name").unwrap_or_default())?;
            checked.push(("name_key", Some(Param::Text(normalize::key(&name)))));
            checked.push(("name", Some(Param::Text(name))));
            if table.name == "artists" {
                let biography = optional_text("biography", text("biography"), MAX_BIOGRAPHY)?;
                checked.push(("biography", biography.map(Param::Text)));
            }
        }
        "albums" => {
            let title = required_text("title", text("title").unwrap_or_default())?;
            checked.push(("natural_key", Some(Param::Text(album_natural_key(uuid("artist_id"), &title)))));
            checked.push(("title_key", Some(Param::Text(normalize::key(&title)))));
            checked.push(("title", Some(Param::Text(title))));
            checked.push(("year", check_range("year", int("year"), 0, 9999)?));
        }
        "songs" => {
            let new = NewSong {
                id: Some(id),
                title: text("title").unwrap_or_default().to_owned(),
                artist_id: uuid("artist_id"),
                album_id: uuid("album_id"),
                genre_id: uuid("genre_id"),
                track_number: int("track_number"),
                disc_number: int("disc_number"),
                year: int("year"),
                duration_ms: int("duration_ms"),
                format: text("format").map(str::to_owned),
                file_size: int("file_size"),
                bitrate: int("bitrate"),
                sample_rate: int("sample_rate"),
                channels: int("channels"),
                content_hash: text("content_hash").map(str::to_owned),
            };
            checked.extend(song_values(new)?);
        }
        "playlists" => {
            checked
                .push(("name", Some(Param::Text(required_text("name", text("name").unwrap_or_default())?))));
            let description = optional_text("description", text("description"), MAX_DESCRIPTION)?;
            checked.push(("description", description.map(Param::Text)));
        }
        "playlist_entries" if !text("sort_key").is_some_and(crate::order::is_valid) => {
            return Err(DbError::invalid("sort_key", "sort_key is not a playlist sort key"));
        }
        "listening_data" => {
            crate::listening::check_rating(int("rating"))?;
            let (Some(user), Some(song)) = (uuid("user_id"), uuid("song_id")) else {
                return Err(DbError::invalid("user_id", "user_id and song_id are required"));
            };
            if id != crate::listening::listening_id(user, song) {
                return Err(DbError::invalid(
                    "id",
                    "id is not the listening row id of this user and song (UUID v5 of both)",
                ));
            }
        }
        "favourites" => {
            let user = uuid("user_id");
            let target = match (uuid("album_id"), uuid("artist_id")) {
                (Some(album), None) => crate::Favourite::Album(album),
                (None, Some(artist)) => crate::Favourite::Artist(artist),
                _ => return Err(DbError::invalid("album_id", "a favourite names one album or one artist")),
            };
            let Some(user) = user else { return Err(DbError::invalid("user_id", "user_id is required")) };
            if id != crate::favourites::favourite_id(user, target) {
                return Err(DbError::invalid(
                    "id",
                    "id is not the favourite row id of this user and album or artist (UUID v5 of both)",
                ));
            }
        }
        _ => {}
    }
    let mut image = image.clone();
    for (column, value) in checked {
        image.insert(column.to_owned(), to_json(&value));
    }
    Ok(image)
}
