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
    /// A check constraint rejected a value.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The rules refuse the change to whoever asked (a pushed change its
    /// author may not make).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The database URL or options are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => DbError::Duplicate(db.message().to_owned()),
                ErrorKind::ForeignKeyViolation => DbError::MissingReference(db.message().to_owned()),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    DbError::Invalid(db.message().to_owned())
                }
                _ => DbError::Sqlx(err),
            },
            _ => DbError::Sqlx(err),
        }
    }
}
