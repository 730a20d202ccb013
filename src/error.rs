//! The one application error, and its stable machine codes (API.md, "Error codes").

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// A field at fault in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a request can fail with. Each variant maps to one problem `code` and status; an
/// `Internal` error is logged with its cause chain and shown to the client only as "internal".
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    UnknownTimeZone(String),
    #[error("{0}")]
    NonexistentLocalTime(String),
    #[error("{0}")]
    AmbiguousLocalTime(String),
    #[error("{0}")]
    InvalidRecurrence(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ChannelNotActive(String),
    /// `confirmed` asked before the parties agreed (`domain::agreement`).
    #[error("{0}")]
    NotAgreed(String),
    /// `host_rotation: true` on a bilateral booking by the delegation whose turn it is not.
    #[error("{0}")]
    HostOutOfTurn(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_after: Duration,
    },
    /// A write lost a race to a concurrent one (no If-Match was given): run again on the new
    /// state by `service::write_retrying`; 503 if it ever reaches a client.
    #[error("{0}")]
    LostRace(String),
    /// The database cannot take the request now (pool exhausted, writers contending): 503 with
    /// `Retry-After`.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after: Duration,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// The stable machine string of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::UnknownTimeZone(_) => "unknown-time-zone",
            Self::NonexistentLocalTime(_) => "nonexistent-local-time",
            Self::AmbiguousLocalTime(_) => "ambiguous-local-time",
            Self::InvalidRecurrence(_) => "invalid-recurrence",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::Conflict(_) => "conflict",
            Self::ChannelNotActive(_) => "channel-not-active",
            Self::NotAgreed(_) => "not-agreed",
            Self::HostOutOfTurn(_) => "host-out-of-turn",
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::RateLimited { .. } => "rate-limited",
            Self::LostRace(_) | Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation { .. }
            | Self::UnknownTimeZone(_)
            | Self::NonexistentLocalTime(_)
            | Self::AmbiguousLocalTime(_)
            | Self::InvalidRecurrence(_)
            | Self::HostOutOfTurn(_) => 422,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::ChannelNotActive(_) | Self::NotAgreed(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::PayloadTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::RateLimited { .. } => 429,
            Self::LostRace(_) | Self::Unavailable { .. } => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A 422 `validation` problem with no field named.
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::Validation {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 422 `validation` problem naming the fields at fault.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Validation { detail, errors }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// Wraps any error that should never reach a client as a 500.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }
}

/// A database error the service did not translate is a 500. (Services map the expected ones —
/// a missing row, a unique violation — themselves, where they mean something.)
impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            // PostgreSQL gave up one of two conflicting transactions: run it again.
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                Self::LostRace(info.message().to_owned())
            }
            other => Self::internal(other),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy(_) | StoreError::Connect(_) => {
                tracing::warn!(error = %error, "no database connection available in time");
                Self::Unavailable {
                    detail: "the service is busy: try again shortly".into(),
                    retry_after: Duration::from_secs(1),
                }
            }
            StoreError::Query(error) => error.into(),
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes are a public contract: pin every one.
    #[test]
    fn codes_and_statuses_are_stable() {
        let cases: Vec<(AppError, &str, u16)> = vec![
            (AppError::validation("x"), "validation", 422),
            (
                AppError::UnknownTimeZone("x".into()),
                "unknown-time-zone",
                422,
            ),
            (
                AppError::NonexistentLocalTime("x".into()),
                "nonexistent-local-time",
                422,
            ),
            (
                AppError::AmbiguousLocalTime("x".into()),
                "ambiguous-local-time",
                422,
            ),
            (
                AppError::InvalidRecurrence("x".into()),
                "invalid-recurrence",
                422,
            ),
            (AppError::Unauthorized("x".into()), "unauthorized", 401),
            (AppError::Forbidden("x".into()), "forbidden", 403),
            (AppError::not_found("meeting"), "not-found", 404),
            (AppError::Conflict("x".into()), "conflict", 409),
            (
                AppError::ChannelNotActive("x".into()),
                "channel-not-active",
                409,
            ),
            (AppError::NotAgreed("x".into()), "not-agreed", 409),
            (AppError::HostOutOfTurn("x".into()), "host-out-of-turn", 422),
            (
                AppError::PreconditionFailed("x".into()),
                "precondition-failed",
                412,
            ),
            (
                AppError::PayloadTooLarge("x".into()),
                "payload-too-large",
                413,
            ),
            (
                AppError::RateLimited {
                    detail: "x".into(),
                    retry_after: Duration::from_secs(1),
                },
                "rate-limited",
                429,
            ),
            (
                AppError::UnsupportedMediaType("x".into()),
                "unsupported-media-type",
                415,
            ),
            (
                AppError::Unavailable {
                    detail: "x".into(),
                    retry_after: Duration::from_secs(1),
                },
                "unavailable",
                503,
            ),
            (AppError::LostRace("x".into()), "unavailable", 503),
            (AppError::internal("boom"), "internal", 500),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.status(), status, "{code}");
        }
    }

    #[test]
    fn internal_errors_do_not_display_their_cause() {
        let error = AppError::internal("password authentication failed for user entente");
        assert_eq!(error.to_string(), "internal error");
    }
}
