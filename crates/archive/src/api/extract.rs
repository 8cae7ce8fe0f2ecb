//! Request extractors whose failures are [`ApiError`]s: a body or query that
//! does not fit gets 422 naming the field, never a plain-text rejection.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use archive_db::{PageRequest, SortOrder};

use super::error::ApiError;

/// A JSON body, checked strictly: types must match and (with
/// `#[serde(deny_unknown_fields)]` on `T`) unknown fields are refused.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large")
            } else if is_body_timeout(&e) {
                body_timeout()
            } else {
                ApiError::bad_request(format!("could not read the body: {e}"))
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(value) => match de.end() {
                Ok(()) => Ok(ApiJson(value)),
                Err(_) => Err(ApiError::bad_request("the body has more after its JSON value")),
            },
            Err(err) => {
                let message = err.inner().to_string();
                if err.inner().is_syntax() || err.inner().is_eof() {
                    return Err(ApiError::bad_request(format!("the body is not valid JSON: {message}")));
                }
                Err(ApiError::invalid(Some(&field_of(&err.path().to_string(), &message)), message))
            }
        }
    }
}

/// A JSON body that may be left out (no body at all): `None` then.
pub struct MaybeJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let empty = req.headers().get(CONTENT_TYPE).is_none()
            && req.headers().get(axum::http::header::CONTENT_LENGTH).is_none_or(|v| v == "0");
        if empty {
            return Ok(MaybeJson(None));
        }
        Ok(MaybeJson(Some(ApiJson::from_request(req, state).await?.0)))
    }
}

/// 408: the client paused longer than `ARCHIVE_BODY_TIMEOUT` while sending a body.
pub fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "the request body stopped arriving (ARCHIVE_BODY_TIMEOUT)",
    )
}

/// The field an error is about: its path, or for an unknown field the
/// name serde quotes in the message.
fn field_of(path: &str, message: &str) -> String {
    // serde names unknown and missing fields in backquotes; the path may or
    // may not include the field already.
    let quoted = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match quoted {
        Some(name) if path == "." => name.to_owned(),
        Some(name) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path.to_owned(),
    }
}

/// A path parameter that must be a UUID (or two); anything else is 422.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::invalid(Some("id"), format!("the path is not valid: {}", e.body_text())))
    }
}

/// Query parameters, read by name and checked by the handler, which lists the
/// names it knows in [`Params::finish`] so that any other is refused.
pub struct Params {
    values: BTreeMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            // No database stores the NUL character, and no parameter needs one.
            if key.contains('\0') || value.contains('\0') {
                let name = key.replace('\0', "");
                return Err(ApiError::invalid(Some(&name), format!("{name} contains a NUL character")));
            }
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ApiError::invalid(Some(&key), format!("{key} is given twice")));
            }
        }
        Ok(Params { values })
    }
}

pub const PAGE_PARAMS: &[&str] = &["limit", "offset", "cursor", "sort", "order"];

impl Params {
    pub fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.values
            .get(name)
            .map(|v| {
                v.parse().map_err(|_| ApiError::invalid(Some(name), format!("{name} must be a whole number")))
            })
            .transpose()
    }

    pub fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.values
            .get(name)
            .map(|v| v.parse().map_err(|_| ApiError::invalid(Some(name), format!("{name} must be a UUID"))))
            .transpose()
    }

    /// The paging parameters: `limit`, `offset`, `cursor`, `sort`, `order`.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let order = match self.values.get("order").map(String::as_str) {
            None | Some("asc") => SortOrder::Asc,
            Some("desc") => SortOrder::Desc,
            Some(_) => {
                return Err(ApiError::invalid(Some("order"), "order must be asc or desc"));
            }
        };
        Ok(PageRequest {
            limit: self.int("limit")?,
            offset: self.int("offset")?,
            cursor: self.text("cursor"),
            sort: self.text("sort"),
            order,
        })
    }

    /// Refuses any parameter not in `known`.
    pub fn finish(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.values.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::invalid(
                Some(unknown),
                format!("unknown parameter {unknown}; known: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

/// Whether a failure to read a request body was its pause limit
/// (`ARCHIVE_BODY_TIMEOUT`), found in the error's chain of causes.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn unknown_and_missing_fields_are_named() {
        assert_eq!(field_of(".", "unknown field `colour`, expected one of `name`"), "colour");
        assert_eq!(field_of(".", "missing field `name`"), "name");
        assert_eq!(field_of("colour", "unknown field `colour`, expected `name`"), "colour");
        assert_eq!(field_of("name", "invalid type: integer `5`, expected a string"), "name");
    }
}
