//! The store's one error type, its mapping from `sqlx` errors, and URL/password redaction.
//!
//! Nothing in a [`StoreError`] (Display or Debug) carries a database password: URLs are passed
//! through [`redact_url`] and driver messages produced while connecting are scrubbed of the
//! URL's password before they are kept.

use thiserror::Error;

/// Everything that can go wrong in the store. Callers map `NotFound` to 404, `Conflict` to 409,
/// `InvalidInput` to 400, `Unavailable` to 503 (and retry background writes), the rest to 500.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL is malformed or names an unsupported scheme (password redacted).
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Could not open the database (password redacted).
    #[error("cannot connect to `{url}`: {message}")]
    Connect { url: String, message: String },
    /// A schema migration failed or the recorded history does not match this binary.
    #[error("schema migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    /// The addressed row does not exist.
    #[error("{entity} `{id}` not found")]
    NotFound { entity: &'static str, id: String },
    /// A uniqueness or reference rule was violated (e.g. a team name already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller passed something the store cannot accept (bad cursor, malformed hash, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database is unreachable or saturated (pool timeout, I/O); worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded into its Rust type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// True when retrying the same operation later may succeed (background writers use this).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match err {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict(db.message().to_owned()),
                ErrorKind::ForeignKeyViolation => StoreError::Conflict(format!(
                    "referenced row missing or still referenced ({})",
                    db.message()
                )),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    StoreError::InvalidInput(db.message().to_owned())
                }
                _ => StoreError::Database(db.message().to_owned()),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(err.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// The constraint class of a database error, if it is one.
pub(crate) fn constraint_kind(err: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    match err {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}

/// `url` with any password (in the user-info part or a `password`/`sslpassword` query parameter)
/// replaced by `***`. Anything after the last `@` before the query is treated as host/path.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match head.find("://") {
        Some(idx) => {
            let (scheme, rest) = head.split_at(idx + 3);
            out.push_str(scheme);
            match rest.rfind('@') {
                Some(at) => {
                    let (userinfo, host) = rest.split_at(at);
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push_str(host);
                }
                None => out.push_str(rest),
            }
        }
        None => out.push_str(head),
    }
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if is_password_param(key) => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

fn is_password_param(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// The password-like substrings of `url` (raw and percent-decoded), to scrub from messages.
pub(crate) fn url_secrets(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    if let Some(idx) = head.find("://") {
        let rest = &head[idx + 3..];
        if let Some(at) = rest.rfind('@') {
            if let Some((_, password)) = rest[..at].split_once(':') {
                secrets.push(password.to_owned());
            }
        }
    }
    for pair in query.unwrap_or("").split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if is_password_param(key) {
                secrets.push(value.to_owned());
            }
        }
    }
    let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// `message` with every occurrence of each secret replaced by `***`.
pub(crate) fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_owned(), |acc, secret| {
        acc.replace(secret.as_str(), "***")
    })
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_password() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db.internal:5432/sy?sslmode=require"),
            "postgres://app:***@db.internal:5432/sy?sslmode=require"
        );
    }

    #[test]
    fn redacts_query_password_and_keeps_other_params() {
        assert_eq!(
            redact_url("postgres://db/sy?user=app&password=pw&sslpassword=x&sslmode=verify-full"),
            "postgres://db/sy?user=app&password=***&sslpassword=***&sslmode=verify-full"
        );
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        for url in [
            "sqlite://switchyard.db",
            "sqlite::memory:",
            "postgres://postgres@127.0.0.1:5432/test",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn password_with_at_sign_is_fully_redacted() {
        let redacted = redact_url("postgres://u:p@ss@host/db");
        assert_eq!(redacted, "postgres://u:***@host/db");
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let secrets = url_secrets("postgres://app:s3cr%40t@db/sy?password=other");
        let msg = scrub("auth failed for s3cr@t, s3cr%40t and other", &secrets);
        assert_eq!(msg, "auth failed for ***, *** and ***");
    }

    #[test]
    fn pool_timeout_is_transient_and_other_errors_are_not() {
        let err = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(err.is_transient());
        let err = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(err, StoreError::Database(_)));
        assert!(!err.is_transient());
    }
}
