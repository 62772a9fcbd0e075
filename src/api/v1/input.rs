//! Reading a management API request, every part hostile until checked: the body (bounded,
//! JSON only, no unknown fields), ids in the path, the query, `If-Match`.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::api::v1::problem::{Kind, Problem};

/// The largest body any operation takes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The body, read up to `BODY_LIMIT`.
pub async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, Problem> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| Problem::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(Problem::new(
                Kind::PayloadTooLarge,
                format!("Send at most {BODY_LIMIT} bytes."),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
}

/// The body as `T`; an empty body is `T::default()` when `optional`.
pub fn json_body<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &[u8],
    optional: bool,
) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if optional {
            Ok(T::default())
        } else {
            Err(Problem::bad_request("Send a JSON object as the body."))
        };
    }
    if !is_json(req) {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "Send the body with Content-Type: application/json.",
        ));
    }
    // serde reads a struct from a JSON array too (`[null]` as `{"overlap": null}`); every
    // body of this API is an object, and anything else is refused before serde sees it.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::new(
            Kind::Validation,
            "The body does not fit this operation: send a JSON object.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field and the expected type, never more of the body
        // than the offending value the caller sent itself.
        Problem::new(
            Kind::Validation,
            format!("The body does not fit this operation: {e}."),
        )
    })
}

/// The path segment `name` as an id; anything else is a resource that does not exist.
pub fn path_id<T: std::str::FromStr>(req: &HttpRequest, name: &str) -> Result<T, Problem> {
    req.match_info()
        .get(name)
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(Problem::not_found)
}

/// The query as `T`: unknown parameters refused, so a typo is not silently ignored.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, Problem> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| Problem::bad_request(format!("The query is not understood: {e}.")))
}

/// What `If-Match` asks: `None` when absent.
pub enum IfMatch {
    Any,
    Tags(Vec<String>),
}

pub fn if_match(req: &HttpRequest) -> Result<Option<IfMatch>, Problem> {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let mut tags = Vec::new();
    for value in req.headers().get_all(header::IF_MATCH) {
        let text = value
            .to_str()
            .ok()
            .filter(|t| !t.trim().is_empty() && t.len() <= 200)
            .filter(|t| t.bytes().all(|b| b == b' ' || b.is_ascii_graphic()))
            .ok_or_else(|| {
                Problem::bad_request("If-Match holds ETags as this API sent them, or *.")
            })?;
        for tag in text.split(',') {
            let tag = tag.trim();
            if tag == "*" {
                return Ok(Some(IfMatch::Any));
            }
            // A weak validator never matches for a change (RFC 9110 §13.1.1).
            if !tag.is_empty() && !tag.starts_with("W/") {
                tags.push(tag.to_string());
            }
        }
    }
    Ok(Some(IfMatch::Tags(tags)))
}

/// Refuses with 412 when `If-Match` names a version other than `current`.
pub fn check_if_match(req: &HttpRequest, current: &str) -> Result<(), Problem> {
    match if_match(req)? {
        None | Some(IfMatch::Any) => Ok(()),
        Some(IfMatch::Tags(tags)) if tags.iter().any(|t| t == current) => Ok(()),
        Some(IfMatch::Tags(_)) => Err(Problem::new(
            Kind::PreconditionFailed,
            "The credential changed since you read it (its ETag differs from If-Match). Read it again, then retry.",
        )),
    }
}

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
