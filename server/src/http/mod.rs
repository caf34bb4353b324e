//! The HTTP side: one axum router for pages (Leptos), server functions, the REST API,
//! operations endpoints and the embedded static files.

pub mod assets;
pub mod ops;
pub mod rest;

use std::any::Any;

use app::{App, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::AppError;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use metrics_exporter_prometheus::PrometheusHandle;
use services::Services;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The state every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub metrics: PrometheusHandle,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Request bodies larger than this are refused with 413 (uploads get their own limit later).
const BODY_LIMIT_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let services = state.services.clone();

    let api = Router::new()
        .route("/auth/token", post(rest::auth::token))
        .route("/auth/me", get(rest::auth::me))
        .fallback(rest::not_found);

    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .nest("/api/v1", api)
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(fallback)
        .route_layer(from_fn(ops::label_route))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(from_fn(ops::observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Anything no route matched: a JSON 404 under `/api/`, an embedded file if there is one,
/// else the application's own not-found page.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") {
        return rest::ApiError(AppError::not_found("API endpoint")).into_response();
    }
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && let Some(response) = assets::response_for(path, request.headers())
    {
        return response;
    }
    let services = state.services.clone();
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || provide_context(services.clone()),
        move || shell(options.clone()),
    );
    render(request).await.into_response()
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic hook has logged it; the client gets the ordinary 500 envelope.
    let mut response = rest::ApiError(AppError::internal()).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
