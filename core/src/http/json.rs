//! JSON bodies whose rejections use the error envelope (axum's default rejections are plain text).

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => {
                let status = rejection.status();
                let code = match status {
                    http::StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    http::StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    http::StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
                    _ => "malformed_json",
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Declares the body of a JSON answer: a struct serialized as an object of its fields, in the
/// order written (`Name { field: Type, … }`, with optional field attributes). One place for
/// what every answer type derives.
macro_rules! response {
    ($(#[$doc:meta])* $name:ident $(<$lt:lifetime>)? { $($(#[$attr:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize)]
        struct $name $(<$lt>)? { $($(#[$attr])* $field: $ty,)* }
    };
}
pub(crate) use response;
