//! Static files (htmx, our CSS and JS) embedded in the binary. URLs carry a content hash
//! (`?v=…`), so a matching request may be cached for a year; any other is revalidated by ETag.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "static/"]
struct StaticFiles;

pub const HTMX_FILE: &str = "htmx-2.0.11.min.js";

/// Versioned URLs of the files the layout links to.
pub struct AssetUrls {
    pub htmx: String,
    pub css: String,
    pub js: String,
    /// Choices that show their outcome (the rotate dialog, local times of an expiry).
    pub choices_js: String,
}

pub static ASSET_URLS: LazyLock<AssetUrls> = LazyLock::new(|| AssetUrls {
    htmx: url_for(HTMX_FILE),
    css: url_for("app.css"),
    js: url_for("app.js"),
    choices_js: url_for("choices.js"),
});

fn version_of(name: &str) -> Option<String> {
    StaticFiles::get(name).map(|f| hex::encode(&f.metadata.sha256_hash()[..8]))
}

pub fn url_for(name: &str) -> String {
    match version_of(name) {
        Some(v) => format!("/static/{name}?v={v}"),
        None => format!("/static/{name}"),
    }
}

#[derive(serde::Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

pub async fn serve_static(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<VersionQuery>,
) -> HttpResponse {
    let name = path.into_inner();
    let Some(file) = StaticFiles::get(&name) else {
        return HttpResponse::NotFound().finish();
    };
    let hash = hex::encode(file.metadata.sha256_hash());
    let etag = format!("\"{hash}\"");
    let cache = if query
        .v
        .as_deref()
        .is_some_and(|v| hash.starts_with(v) && v.len() == 16)
    {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache));
    if not_modified {
        return res.finish();
    }
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    res.content_type(mime.as_ref()).body(file.data.into_owned())
}
