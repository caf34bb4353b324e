//! Server-rendered pages: which requests are page requests, and a guard against a render
//! that never finishes.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::RETRY_AFTER;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// Longest one render of a page may take before it is started again.
const RENDER_LIMIT: Duration = Duration::from_secs(10);

/// A request for a page (not the API, a server function, or a file: a last path segment
/// with a dot).
pub fn is_page_request(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !path.starts_with("/ws/")
        && !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// Renders a page once more if its first render stalls.
///
/// Leptos 0.8 now and again never finishes a server-side render whose resources resolve in
/// an unlucky order (leptos-rs/leptos#4851; `server/tests/pages.rs` reproduces it with 120
/// concurrent page loads while other tests run: about one render in 1,500). The response then never starts,
/// as pages render completely before they are sent. Rendering a page only reads, so after
/// [`RENDER_LIMIT`] the render is dropped and done again; a second stall is a 503. Remove
/// this once Leptos is fixed.
pub async fn render_again_if_stalled(request: Request, next: Next) -> Response {
    if !is_page_request(&request) {
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    for attempt in 1..=2 {
        let request = Request::from_parts(parts.clone(), Body::empty());
        match tokio::time::timeout(RENDER_LIMIT, next.clone().run(request)).await {
            Ok(response) => return response,
            Err(_) => tracing::warn!(path = parts.uri.path(), attempt, "page render stalled"),
        }
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(RETRY_AFTER, "1")],
        Html("<!DOCTYPE html><title>TTS</title><p>The page took too long to prepare. Please reload it.</p>"),
    )
        .into_response()
}
