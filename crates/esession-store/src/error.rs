//! The crate's error type (STYLE §4).
//!
//! Everything read from disk is untrusted: a row that fails authentication,
//! a column of the wrong type or a value out of range is a typed error, never
//! a panic. Cryptographic failures carry no detail ([`Error::Tampered`],
//! [`Error::WrongKey`]).

/// Everything that can go wrong opening, reading or writing a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite reported an error (I/O, locking, a malformed database file).
    /// The text is SQLite's message; it never contains a secret, since
    /// secrets are only ever bound as encrypted blobs.
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// The file is an SQLite database, but not an esession store (its
    /// `application_id` differs, or it has tables but no store header).
    #[error("the database is not an esession store")]
    NotAStore,
    /// The file was written by a newer version of this crate with a schema
    /// this version does not know; it is left untouched.
    #[error("store schema version {found} is newer than the supported {supported}")]
    UnsupportedSchema {
        /// `PRAGMA user_version` of the file.
        found: u32,
        /// The newest schema this build understands.
        supported: u32,
    },
    /// The application key does not open this store (its key-check record
    /// fails authentication).
    #[error("the key does not open this store")]
    WrongKey,
    /// A row failed authentication: its ciphertext, nonce or any
    /// authenticated metadata (account, peer, slot, timestamps, flags) was
    /// changed, or it was moved to another row.
    #[error("a record in {table} failed authentication")]
    Tampered {
        /// The table holding the record.
        table: &'static str,
    },
    /// A row holds a value of the wrong type, size or range.
    #[error("malformed record in {table}: {what}")]
    Corrupt {
        /// The table holding the record.
        table: &'static str,
        /// What was wrong.
        what: &'static str,
    },
    /// An argument is out of range (a time before 1970, an oversized JID or
    /// secret).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The key given to [`crate::StoreKey::from_slice`] is not 32 bytes.
    #[error("a store key is 32 bytes")]
    BadKeyLength,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e.to_string())
    }
}
