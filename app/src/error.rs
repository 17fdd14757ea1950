//! `AppError`: the one error type that crosses the wire, with the HTTP status each kind answers.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please log in to continue.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("Page not found.")]
    NotFound,
    /// Bad input in one form field; `field` is the input's `name`.
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A budget's hard cap refuses the paid action (the sentence names the budget and who can
    /// raise it).
    #[error("{0}")]
    PaymentRequired(String),
    /// The org's destination rules refuse the call or text: a blocked premium or special range,
    /// a country it does not allow, over its maximum price, or a destination paused by the
    /// velocity rule (the sentence says which, and who can change it).
    #[error("{0}")]
    DestinationRefused(String),
    /// The recipient opted out of the org's texts: nothing is sent to them until they opt back
    /// in (the sentence says since when and how).
    #[error("{0}")]
    OptedOut(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Upstream(String),
    #[error("PhoneHub is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// Only ever built in the browser: the request did not reach the server.
    #[error("Could not reach PhoneHub. Check your connection and try again.")]
    Network,
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("You do not have permission to do that.".into())
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::Validation { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::PaymentRequired(_) => 402,
            AppError::DestinationRefused(_) | AppError::OptedOut(_) => 403,
            AppError::BadRequest(_) => 400,
            AppError::Upstream(_) => 502,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
            AppError::Network => 503,
        }
    }

    /// The message for a given form field, if this error is about that field.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// A message for the form as a whole (anything that is not about one field).
    pub fn form_message(&self) -> Option<String> {
        match self {
            AppError::Validation { .. } => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                AppError::BadRequest(format!("The form was incomplete or malformed ({m})."))
            }
            ServerFnErrorErr::Request(_) => AppError::Network,
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            _ => {
                tracing::error!(error = %e, "database error");
                AppError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_the_wire_encoding() {
        let e = AppError::validation("email", "Enter an e-mail address.");
        let bytes = e.ser();
        assert_eq!(AppError::de(bytes), e);
        assert_eq!(e.status(), 422);
        assert_eq!(
            e.field_message("email").as_deref(),
            Some("Enter an e-mail address.")
        );
        assert_eq!(e.field_message("role"), None);
    }

    #[test]
    fn malformed_arguments_are_a_client_error() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into()));
        assert_eq!(e.status(), 400);
    }
}
