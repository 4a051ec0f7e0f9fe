//! API errors and the JSON extractor that turns axum's rejections into them.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use xinlian_core::api::{ErrorBody, ErrorResponse};

use crate::Error;
use crate::chain::SubmitError;

/// An error answer: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// How long the client should wait before trying again (`Retry-After`), for 429s.
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        ApiError {
            status,
            code,
            message,
            retry_after: None,
        }
    }

    /// 429 with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(code: &'static str, message: String, wait: std::time::Duration) -> Self {
        ApiError {
            retry_after: Some(wait),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: String) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500; the message is logged, the client sees a generic one.
    pub fn internal(message: String) -> Self {
        tracing::error!(target: "xinlian.api", %message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node failed to serve this request".into(),
        )
    }
}

impl ApiError {
    /// The code and message, as an error answer or an error event carries them.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let response = (self.status, Json(body)).into_response();
        match self.retry_after {
            Some(wait) => super::limits::with_retry_after(response, wait),
            None => response,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl From<xinlian_contracts::ExecError> for ApiError {
    fn from(e: xinlian_contracts::ExecError) -> Self {
        Error::from(e).into()
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        use xinlian_contracts::ContractError as C;
        let status = match &e {
            SubmitError::Internal(inner) => return ApiError::internal(inner.to_string()),
            SubmitError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            SubmitError::BadSignature(_) => StatusCode::BAD_REQUEST,
            SubmitError::AlreadyPending(_) => StatusCode::CONFLICT,
            SubmitError::MempoolFull(_) | SubmitError::Halted(_) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::SenderShareFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            SubmitError::Refused(C::Duplicate(_)) => StatusCode::CONFLICT,
            SubmitError::Refused(
                C::UnknownSender(_) | C::RoleForbidden { .. } | C::OtherOrganisation { .. },
            ) => StatusCode::FORBIDDEN,
            SubmitError::Refused(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s (`invalid_query`, naming the parameter).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> ApiQuery<T> {
    /// The query of `uri`, for a handler that reads its body first: an extractor that refused
    /// the query before the body was read would answer while the client still sends it.
    pub fn from_uri(uri: &axum::http::Uri) -> Result<T, ApiError> {
        Query::<T>::try_from_uri(uri)
            .map(|Query(value)| value)
            .map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::bad_request(
                "invalid_query",
                rejection.body_text(),
            )),
        }
    }
}

/// `Path<T>` whose rejections are [`ApiError`]s (`invalid_path`), so a segment that is not
/// valid percent-encoded UTF-8 (`/v1/trace/codes/%00%ff`) gets the JSON error shape too.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::bad_request("invalid_path", rejection.body_text())),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    let message = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::bad_request("invalid_field", message),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed_json", message),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
        }
        other => ApiError::new(other.status(), "bad_request", message),
    }
}
