//! The web layer's one error type. Each variant maps to one status; every error body is
//! `{"error": {"code", "message", "fields"?}}`. A 5xx body says only that something went
//! wrong; the cause is logged, never sent.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::FieldError;
use crate::imports::ImportError;
use crate::store::StoreError;

/// Result of a handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed (bad JSON, bad query).
    #[error("{message}")]
    BadRequest {
        /// Stable machine code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 401: no valid session or token.
    #[error("login required")]
    Unauthorized,
    /// 401: a login with a wrong username or password.
    #[error("wrong username or password")]
    WrongCredentials,
    /// 403: authenticated, but outside the caller's role or scope.
    #[error("forbidden")]
    Forbidden,
    /// 403: a form or cookie-authenticated request without the session's CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 410: it existed but is no more (a revoked code, a used or expired invitation).
    #[error("{message}")]
    Gone {
        /// Stable machine code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 409: the state does not allow it, or someone changed it first.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("request body too large")]
    TooLarge,
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid; every bad field is listed.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// 429: too many failed attempts; try again after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds to wait.
        retry_after_secs: i64,
    },
    /// 503: a dependency (the database) is not reachable.
    #[error("service unavailable")]
    Unavailable,
    /// 500: logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// 500: the store failed; logged with its cause (the driver's error, the damaged column),
    /// never shown.
    #[error("store: {0}")]
    Store(#[source] StoreError),
}

impl Error {
    /// A 422 with one field.
    pub fn field(field: &str, message: impl Into<String>) -> Error {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            Error::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            Error::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Error::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Error::Gone { code, .. } => (StatusCode::GONE, code),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Error::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Error::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            Error::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Internal(_) | Error::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// What a page shows for this error: one line per invalid field (`field: message`), or the
    /// public message.
    pub fn page_messages(self) -> Vec<String> {
        match self {
            Error::Validation(fields) => fields.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect(),
            other => vec![other.public_message()],
        }
    }

    /// The message shown to people: the error's own text for 4xx, a fixed sentence for 5xx.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) | Error::Store(_) => "something went wrong on our side; it has been logged".into(),
            Error::Unavailable => "the service is temporarily unavailable".into(),
            other => other.to_string(),
        }
    }
}

/// The JSON error body, as documented in the OpenAPI document.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of an error body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `validation`, `not_found`.
    pub code: String,
    /// For people.
    pub message: String,
    /// Every bad field, for 422s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            let cause = std::error::Error::source(&self).map(|s| format!("{s:?}"));
            tracing::error!(error = %self, cause, "request failed");
        }
        let fields = match &self {
            Error::Validation(f) => Some(f.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: self.public_message(), fields } };
        let mut resp = (status, Json(body)).into_response();
        if let Error::TooManyAttempts { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Error::TooLarge = self {
            // The rest of the body is never read, so the server closes the connection after this
            // answer: say so, or a client may send its next request on it and lose it.
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => Error::Conflict("a record with the same key already exists".into()),
            StoreError::Unavailable => Error::Unavailable,
            other => Error::Store(other),
        }
    }
}

impl From<ImportError> for Error {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(fields) => Error::Validation(fields),
            ImportError::Store(s) => s.into(),
        }
    }
}

fn body_rejection(status: StatusCode, text: String) -> Error {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => Error::Validation(vec![FieldError::new("body", text)]),
        _ => Error::BadRequest { code: "bad_request", message: text },
    }
}

impl From<JsonRejection> for Error {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                // serde's message names the field: "missing field `username`".
                let text = e.body_text();
                let field = text.split('`').nth(1).unwrap_or("body").to_owned();
                Error::Validation(vec![FieldError::new(field, text)])
            }
            JsonRejection::JsonSyntaxError(e) => Error::BadRequest { code: "bad_json", message: e.body_text() },
            JsonRejection::MissingJsonContentType(_) => {
                Error::UnsupportedMediaType("expected Content-Type: application/json".into())
            }
            other => body_rejection(other.status(), other.body_text()),
        }
    }
}

impl From<FormRejection> for Error {
    fn from(r: FormRejection) -> Self {
        body_rejection(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(r: QueryRejection) -> Self {
        Error::BadRequest { code: "bad_query", message: r.body_text() }
    }
}

impl From<PathRejection> for Error {
    fn from(r: PathRejection) -> Self {
        Error::BadRequest { code: "bad_path", message: r.body_text() }
    }
}

/// Turns the framework's own plain-text error answers (a body over the limit read as bytes or
/// multipart, an unreadable multipart body, a bare status) into the documented error body: JSON
/// for API clients, the error page for a browser. Handlers' own errors pass through untouched.
pub async fn uniform_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let html = super::wants_html(req.headers(), req.uri().path());
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 4096).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => Error::Validation(vec![FieldError::new("body", text)]),
        StatusCode::NOT_FOUND => Error::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::UNAUTHORIZED => Error::Unauthorized,
        StatusCode::FORBIDDEN => Error::Forbidden,
        s if s.is_server_error() => Error::Internal(text),
        _ => Error::BadRequest { code: "bad_request", message: text },
    };
    if html { super::pages::PageError(error).into_response() } else { error.into_response() }
}

/// `Json<T>` whose rejections are our JSON errors.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` whose rejections are our JSON errors.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

/// `Path<T>` whose rejections are our JSON errors.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct ApiPath<T>(pub T);

/// `Form<T>` whose rejections are our errors.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(Error))]
pub struct ApiForm<T>(pub T);
