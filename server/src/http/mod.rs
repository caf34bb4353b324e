//! The HTTP side: one axum router for pages (Leptos), server functions, the REST API,
//! operations endpoints and the embedded static files.

pub mod assets;
pub mod live;
pub mod ops;
pub mod pages;
pub mod rest;
pub mod security;

use std::any::Any;
use std::sync::Arc;

use app::{App, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use domain::AppError;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use metrics_exporter_prometheus::PrometheusHandle;
use services::Services;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The state every handler can reach, behind one `Arc`: axum clones the state for every
/// extractor and middleware that takes it, several times a request, and cloning the fields
/// themselves (Leptos's options alone hold a dozen shared strings) took 47 % of the CPU of a
/// flood of requests with a bad token (`perf`, BENCHMARKS.md 2026-11-27 evening).
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateParts {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub metrics: PrometheusHandle,
    pub protection: security::Protection,
    pub session_store: services::browser_sessions::SessionStore,
    pub secure_cookies: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Request bodies larger than this are refused with 413 (uploads have their own limit, from
/// the configuration).
const BODY_LIMIT_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let services = state.services.clone();

    let upload_limit = usize::try_from(state.services.attachment_settings().max_bytes)
        .unwrap_or(usize::MAX)
        // Room for the multipart envelope around the largest allowed file.
        .saturating_add(64 * 1024);
    let api = api_routes(upload_limit).fallback(rest::not_found);
    // Swagger UI reads the document from its own route (see `rest::openapi::document`).
    let docs = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .config(utoipa_swagger_ui::Config::from("/api/openapi.json"));
    let browser_sessions = tower_sessions::SessionManagerLayer::new(state.session_store.clone())
        .with_name(services::auth::BROWSER_SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::hours(1),
        ));

    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/ws/comments/{ticket_id}", get(live::comments))
        .route("/ws/notifications", get(live::notifications))
        .route("/api/openapi.json", get(rest::openapi::document))
        .nest("/api/v1", api)
        .merge(docs)
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(fallback)
        .route_layer(from_fn(ops::label_route))
        .layer(from_fn(server_fn_error_status))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(from_fn(pages::render_again_if_stalled))
        // Inside the renewal below, so a page sees the renewed session.
        .layer(from_fn_with_state(
            state.clone(),
            security::resolve_page_user,
        ))
        .layer(browser_sessions)
        .layer(from_fn_with_state(
            state.clone(),
            security::renew_browser_session,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            security::refuse_cross_site,
        ))
        .layer(from_fn_with_state(state.clone(), security::rate_limit))
        .layer(from_fn_with_state(
            state.clone(),
            security::resolve_client_ip,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(from_fn(ops::observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Paths are accepted with or without a trailing slash (the seeds use one, SPEC.md asks for
/// both): the slash is dropped before routing. The API docs page keeps its own, which its
/// assets are relative to.
pub fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/api/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rebuilt.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Every REST route with its handler. Each handler asks for the permission it needs
/// (`Caller::may`); the authorization matrix test calls every route as every role.
fn api_routes(upload_limit: usize) -> Router<AppState> {
    use rest::{
        api_keys, attachments, audit, auth, comments, helpdesk, notifications, roles, tasks,
        tickets, users, workflows,
    };
    Router::new()
        .route("/auth/token", post(auth::token))
        .route("/auth/token/verify", post(auth::verify))
        .route("/auth/token/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/auth/password", post(auth::change_password))
        .route("/auth/password/reset", post(auth::request_reset))
        .route("/auth/password/reset/confirm", post(auth::confirm_reset))
        .route("/auth/sessions", get(auth::sessions))
        .route(
            "/auth/sessions/revoke-others",
            post(auth::revoke_other_sessions),
        )
        .route("/auth/sessions/{id}", delete(auth::revoke_session))
        .route("/auth/second-factor", get(auth::second_factor))
        .route("/auth/second-factor/totp", post(auth::begin_totp))
        .route("/auth/second-factor/totp/confirm", post(auth::confirm_totp))
        .route("/auth/second-factor/email", post(auth::begin_email))
        .route(
            "/auth/second-factor/email/confirm",
            post(auth::confirm_email),
        )
        .route(
            "/auth/second-factor/disable",
            post(auth::disable_second_factor),
        )
        .route(
            "/auth/second-factor/recovery-codes",
            post(auth::recovery_codes),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get)
                .patch(users::update)
                .delete(users::deactivate),
        )
        .route("/users/{id}/unlock", post(users::unlock))
        .route(
            "/users/{id}/reset-second-factor",
            post(users::reset_second_factor),
        )
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{id}",
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(
            "/roles/{id}/members",
            get(roles::members).post(roles::set_member),
        )
        .route(
            "/roles/{id}/members/{user_id}",
            delete(roles::remove_member),
        )
        .route("/security/policies", get(roles::policies))
        .route("/security/policies/{role}", put(roles::set_policy))
        .route("/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api-keys/{id}", delete(api_keys::revoke))
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/send", post(tickets::send))
        .route("/tickets/{id}", get(tickets::get).patch(tickets::update))
        .route("/tickets/{id}/status", post(tickets::change_status))
        .route("/tickets/{id}/reopen", post(tickets::reopen))
        .route("/tickets/{id}/history", get(tickets::history))
        .route(
            "/tickets/{id}/attachments",
            get(attachments::list)
                .post(attachments::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/attachments/{id}", get(attachments::download))
        .route("/reference-data", get(helpdesk::reference_data))
        .route("/categories", post(helpdesk::create_category))
        .route("/categories/{id}", put(helpdesk::update_category))
        .route("/departments", post(helpdesk::create_department))
        .route("/departments/{id}", put(helpdesk::update_department))
        .route(
            "/departments/{id}/members",
            put(helpdesk::set_department_members),
        )
        .route("/priorities/{code}", put(helpdesk::update_priority))
        .route(
            "/helpdesk/settings",
            get(helpdesk::settings).put(helpdesk::put_settings),
        )
        .route(
            "/saved-filters",
            get(helpdesk::saved_filters).post(helpdesk::save_filter),
        )
        .route("/saved-filters/{id}", delete(helpdesk::delete_filter))
        .route("/workflows", get(workflows::list).post(workflows::create))
        .route(
            "/workflows/{id}",
            get(workflows::get)
                .patch(workflows::update)
                .delete(workflows::delete),
        )
        .route("/workflows/{id}/graph", put(workflows::save_graph))
        .route("/workflows/{id}/deploy", post(workflows::deploy))
        .route("/workflows/{id}/pause", post(workflows::pause))
        .route("/workflows/{id}/resume", post(workflows::resume))
        .route("/workflows/{id}/versions", get(workflows::versions))
        .route("/workflows/{id}/versions/{number}", get(workflows::version))
        .route("/steps", get(workflows::steps).post(workflows::add_step))
        .route(
            "/steps/{id}",
            put(workflows::update_step).delete(workflows::delete_step),
        )
        .route(
            "/transitions",
            get(workflows::transitions).post(workflows::add_transition),
        )
        .route(
            "/transitions/{id}",
            put(workflows::update_transition).delete(workflows::delete_transition),
        )
        .route("/tasks", get(tasks::inbox))
        .route("/tasks/{id}", get(tasks::get))
        .route("/tasks/{id}/transition", post(tasks::transition))
        .route("/tasks/{id}/reassign", post(tasks::reassign))
        .route("/tasks/{id}/escalate", post(tasks::escalate))
        .route("/tasks/{id}/start", post(tasks::start))
        .route("/tasks/{id}/end-logic/retry", post(tasks::retry_end_logic))
        .route("/tickets/{id}/task", get(tasks::of_ticket))
        .route("/triage", get(tasks::triage))
        .route("/triage/{id}/retry", post(tasks::retry_triage))
        .route("/audit", get(audit::audit))
        .route("/notifications/inapp", get(notifications::list))
        .route("/notifications/inapp/{id}/read", post(notifications::read))
        .route(
            "/notifications/inapp/read-all",
            post(notifications::read_all),
        )
        .route(
            "/notifications/preferences",
            get(notifications::preferences).put(notifications::set_preferences),
        )
        .route("/notifications/send", post(notifications::send))
        .route("/notifications/deliveries", get(notifications::deliveries))
        .route(
            "/tickets/{id}/comments",
            get(comments::list).post(comments::create),
        )
        .route(
            "/comments/{id}",
            get(comments::get)
                .patch(comments::update)
                .delete(comments::delete),
        )
        .route("/comments/{id}/rate", post(comments::rate))
        .route(
            "/comments/{id}/attachments",
            get(comments::attachments)
                .post(comments::attach)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/comments/{id}/history", get(comments::history))
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

/// The status of a server function's error follows its kind.
///
/// A server function's own errors get their status from `app::ssr::respond`, but the ones
/// Leptos raises before the function runs (arguments that cannot be read: malformed JSON, a
/// missing or mistyped field) are sent with 500 whatever their kind, so a wrong call looked
/// like a server fault. Those answers are small JSON errors; a 4xx kind gets its 4xx here.
async fn server_fn_error_status(request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let is_server_fn = path.starts_with("/api/")
        && !path.starts_with("/api/v1/")
        && !path.starts_with("/api/docs")
        && path != "/api/openapi.json";
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return rest::ApiError(AppError::internal()).into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(err.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic hook has logged it; the client gets the ordinary 500 envelope.
    let mut response = rest::ApiError(AppError::internal()).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
