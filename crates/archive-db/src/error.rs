use thiserror::Error;

/// Errors of the database layer.
#[derive(Debug, Error)]
pub enum DbError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated (a duplicate email, name key, token…).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// A reference points at a row that does not exist.
    #[error("refers to a missing record: {0}")]
    MissingReference(String),
    /// A value is refused: by our checks, naming the request's `field`
    /// when there is one, or by a check constraint of the database.
    #[error("invalid value: {message}")]
    Invalid { field: Option<String>, message: String },
    /// The rules refuse the change to whoever asked (a pushed change its
    /// author may not make).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The database URL or options are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    /// The database could not be reached at start-up, and why.
    #[error("cannot connect to the database: {0}")]
    Connect(ConnectError),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("backup failed: {0}")]
    Backup(String),
    /// The database cannot take this now, whatever the request: it is out
    /// of space, unreachable, or read-only. Nothing was written; the same
    /// write succeeds once the cause is gone (no restart needed).
    #[error("the database cannot take writes now: {0}")]
    Unavailable(Unavailable),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
}

/// Why a first connection to PostgreSQL failed: the cause a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnectError {
    #[error("nothing listens at {0} (connection refused): is PostgreSQL running, and on that port?")]
    Refused(String),
    #[error("the host {0} is unknown (its name does not resolve)")]
    UnknownHost(String),
    #[error("authentication failed for user {user}: {message}")]
    AuthenticationFailed { user: String, message: String },
    #[error("the database {0} does not exist on the server (create it with createdb)")]
    DatabaseMissing(String),
    #[error("{0} did not answer within {1} s")]
    Timeout(String, u64),
    #[error("{0}")]
    Other(String),
}

/// Why the database cannot take writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Unavailable {
    #[error("its disk is full")]
    DiskFull,
    #[error("it cannot be reached")]
    Unreachable,
    #[error("it is read-only")]
    ReadOnly,
    #[error("it failed to read or write its files")]
    Io,
}

impl DbError {
    /// A value of `field` refused, and why (the message names the field too).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> DbError {
        DbError::Invalid { field: Some(field.into()), message: message.into() }
    }

    /// Whether the error will fail every write until its cause is gone
    /// (a full disk, a database that is down): an import stops at it, and
    /// health reports it.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_))
    }
}

/// Classifies errors that are about the database's state, not the request.
fn unavailable(err: &sqlx::Error) -> Option<Unavailable> {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Unavailable::Unreachable),
        // SQLite's primary result codes (extended codes keep them in the low
        // byte). Told apart by the error's type, not by its code being a
        // number: many of PostgreSQL's are too (21000, a statement that
        // would change a row twice, is 8 in the low byte, "read-only").
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            match db.code()?.parse::<i32>().ok()? & 0xff {
                13 => Some(Unavailable::DiskFull),    // SQLITE_FULL
                10 => Some(Unavailable::Io),          // SQLITE_IOERR
                8 => Some(Unavailable::ReadOnly),     // SQLITE_READONLY
                14 => Some(Unavailable::Unreachable), // SQLITE_CANTOPEN
                _ => None,
            }
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // PostgreSQL's SQLSTATEs: insufficient resources, connection
            // failures, the server shutting down, a read-only transaction.
            Some("53100") => Some(Unavailable::DiskFull),
            Some(code) if code.starts_with("08") || code.starts_with("57P") => Some(Unavailable::Unreachable),
            Some("25006") => Some(Unavailable::ReadOnly),
            Some(code) if code.starts_with("58") => Some(Unavailable::Io),
            _ => None,
        },
        _ => None,
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let Some(why) = unavailable(&err) {
            return DbError::Unavailable(why);
        }
        match &err {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => DbError::Duplicate(db.message().to_owned()),
                ErrorKind::ForeignKeyViolation => DbError::MissingReference(db.message().to_owned()),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    DbError::Invalid { field: None, message: db.message().to_owned() }
                }
                _ => DbError::Sqlx(err),
            },
            _ => DbError::Sqlx(err),
        }
    }
}
