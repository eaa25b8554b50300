//! The crate's one error type.
//!
//! [`Error`] covers what can go wrong while setting the provider up (a bad users
//! file, an unreadable signing key, a database that will not open) and the few
//! server-side failures at run time (the database, signing). Errors caused by a
//! request are not `Error`s: they are protocol answers (an OAuth error JSON, a
//! redirect with `error=`, an error page), built where they happen.

use std::path::PathBuf;

/// Everything that can fail in the identity provider outside of a client's request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A users file could not be read.
    #[error("cannot read users file {path}: {source}")]
    ReadUsers {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },

    /// A users file was read but is not valid.
    #[error("invalid users file {path}: {problem}")]
    InvalidUsers {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the user and field.
        problem: String,
    },

    /// The configuration passed to [`IdentityProvider::open`](crate::IdentityProvider::open)
    /// is not usable.
    #[error("invalid identity provider configuration: {0}")]
    Config(String),

    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why it could not be created.
        source: std::io::Error,
    },

    /// The signing key file could not be read or written.
    #[error("signing key {path}: {source}")]
    KeyFile {
        /// The PEM file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },

    /// The signing key file exists but holds no usable key.
    #[error("signing key {path} is not a usable PKCS#8 RSA private key: {problem}")]
    KeyFormat {
        /// The PEM file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },

    /// A new signing key could not be generated.
    #[error("cannot generate a signing key: {0}")]
    KeyGeneration(String),

    /// The refresh-token database could not be opened or prepared.
    #[error("cannot open database {path}: {source}")]
    OpenDatabase {
        /// The SQLite file.
        path: PathBuf,
        /// The database error.
        source: sqlx::Error,
    },

    /// A query on the refresh-token database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// A token could not be signed.
    #[error("cannot sign token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}
