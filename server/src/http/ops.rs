//! Operations: liveness, readiness, Prometheus metrics, and the per-request observation that
//! feeds them (request id, route, status, latency).

use std::sync::OnceLock;
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tracing::Instrument as _;

use super::AppState;

const DURATION_METRIC: &str = "http_request_duration_seconds";
const REQUESTS_METRIC: &str = "http_requests_total";

/// The process-wide Prometheus recorder (the `metrics` macros write to one global recorder;
/// every server started in this process, tests included, shares it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION_METRIC.to_owned()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed already; render an empty, private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// `GET /health/`: the process is alive and serving.
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready/`: the process can do its work, i.e. the database answers.
pub async fn ready(State(state): State<AppState>) -> Response {
    let database_ok = state.services.db().ping().await;
    let body = json!({
        "ready": database_ok,
        "checks": { "database": if database_ok { "ok" } else { "unreachable" } },
    });
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format, for this host or the holder of the metrics token
/// (`Protection::may_read_metrics`); 403 for anyone else.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if !state.protection.may_read_metrics(peer, request.headers()) {
        return super::rest::ApiError(domain::AppError::new(
            domain::ErrorKind::Forbidden,
            "Metrics are for this host, or for a scraper holding TTS_METRICS_TOKEN.",
        ))
        .into_response();
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The route template a request matched (`/api/v1/users/{id}`), carried out on the response so
/// the outer observer can label metrics without the raw, unbounded URI.
#[derive(Clone)]
struct RouteLabel(String);

/// Innermost layer (a route layer): records which route matched.
pub async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outermost layer: a span per request with its id, a log line when it completes, and the
/// request count and latency metrics by method, route and status.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", %method, route = tracing::field::Empty, request_id);

    let response = next.run(request).instrument(span.clone()).await;

    let route = match response.extensions().get::<RouteLabel>() {
        Some(RouteLabel(route)) => route.clone(),
        None if path.starts_with("/pkg/") => "/pkg/{file}".to_owned(),
        None => "unmatched".to_owned(),
    };
    span.record("route", route.as_str());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!(REQUESTS_METRIC, &labels).increment(1);
    metrics::histogram!(DURATION_METRIC, &labels).record(elapsed.as_secs_f64());

    let quiet = matches!(
        route.as_str(),
        "/health" | "/ready" | "/metrics" | "/pkg/{file}"
    );
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request failed");
        } else if quiet {
            tracing::debug!(status, latency_ms, "request completed");
        } else {
            tracing::info!(status, latency_ms, "request completed");
        }
    });
    response
}
