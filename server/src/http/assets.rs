//! The site's static files (WebAssembly, JavaScript, CSS, images), embedded in the binary so it
//! runs with no folder beside it. cargo-leptos writes them to the site root before compiling
//! the server (release builds with `-P`, which also writes `.br` and `.gz` variants, served to
//! clients that accept them). Debug builds read the same folder from disk instead.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../target/site"]
struct Site;

/// Where `cargo leptos build --split` lists the WebAssembly chunks each lazy page needs.
const SPLIT_MANIFEST: &str = "pkg/__wasm_split_manifest.json";

/// Puts the embedded chunk manifest under `folder` (as `pkg/__wasm_split_manifest.json`), so
/// that `folder` can be the site root Leptos reads it from: Leptos reads the manifest from
/// disk to add a page's chunks to its `<head>` as preloads, and this binary carries its site
/// inside. When the build was not split, a manifest an earlier build left there is removed
/// (the pages then fetch their chunks as they hydrate, one round trip later).
pub fn place_split_manifest(folder: &std::path::Path) -> std::io::Result<()> {
    let path = folder.join(SPLIT_MANIFEST);
    let Some(manifest) = Site::get(SPLIT_MANIFEST) else {
        return match std::fs::remove_file(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, manifest.data)
}

/// The embedded file for a request path, if there is one.
pub fn response_for(path: &str, request_headers: &HeaderMap) -> Option<Response> {
    let name = path.trim_start_matches('/');
    if name.is_empty() || name.contains("..") {
        return None;
    }
    let file = Site::get(name)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let mime = file.metadata.mimetype().to_owned();

    if request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag))
    {
        return Some(with_cache_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            &etag,
        ));
    }

    let accepts = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let compressed = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .find_map(|(encoding, ext)| {
            accepts
                .split(',')
                .any(|a| a.trim().split(';').next() == Some(encoding))
                .then(|| Site::get(&format!("{name}{ext}")).map(|f| (encoding, f)))
                .flatten()
        });

    let mut response = match compressed {
        Some((encoding, variant)) => {
            let mut response = Response::new(Body::from(variant.data.into_owned()));
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            response
        }
        None => Response::new(Body::from(file.data.into_owned())),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(with_cache_headers(response, &etag))
}

/// File names are stable (`/pkg/tts.wasm`), so browsers revalidate each time; the ETag makes
/// that a 304 with no body unless the binary changed.
fn with_cache_headers(mut response: Response, etag: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The embedded file names, for `tts --version`-style diagnostics and tests.
pub fn embedded_files() -> Vec<String> {
    Site::iter().map(|name| name.into_owned()).collect()
}
