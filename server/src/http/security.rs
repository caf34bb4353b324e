//! Request-level protections shared by every door: the client's IP, per-IP rate limits on the
//! sign-in endpoints, cross-site request forgery checks for cookie-authenticated changes, and
//! the silent renewal of a browser's session before its access token lapses.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, REFERER, SET_COOKIE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{AppError, ErrorKind};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use services::auth::{ACCESS_COOKIE, API_KEY_HEADER, ClientIp, REFRESH_COOKIE};

use super::AppState;
use super::rest::error_response;

/// Settings of these protections.
#[derive(Clone)]
pub struct Protection {
    pub trust_forwarded_for: bool,
    /// The site's own origin (`https://tts.example.com`), when configured; otherwise requests
    /// are compared with their own `Host`.
    pub public_origin: Option<String>,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Protection {
    pub fn new(trust_forwarded_for: bool, public_url: Option<&str>, per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            trust_forwarded_for,
            public_origin: public_url.map(origin_of),
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }
}

fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.find("://") {
        Some(scheme_end) => match url[scheme_end + 3..].find('/') {
            Some(path) => url[..scheme_end + 3 + path].to_owned(),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Puts the client's IP in the request extensions: the socket's peer, or the first address
/// of `X-Forwarded-For` when TTS runs behind a proxy configured as trusted.
pub async fn resolve_client_ip(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = state
        .protection
        .trust_forwarded_for
        .then(|| {
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    if let Some(ip) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientIp(ip.to_string()));
    }
    next.run(request).await
}

/// The endpoints an attacker would hammer to guess passwords or codes.
const RATE_LIMITED: [&str; 9] = [
    "/api/v1/auth/token",
    "/api/v1/auth/token/verify",
    "/api/v1/auth/token/refresh",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/password/reset/confirm",
    "/api/session/login",
    "/api/session/verify",
    "/api/session/forgot-password",
    "/api/session/reset-password",
];

/// Per-IP limit on the sign-in, refresh, reset and code endpoints: 429 with `Retry-After`.
/// (Per-account protection is the lockout after repeated failures, in the auth service.)
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().trim_end_matches('/');
    if request.method() == Method::POST && RATE_LIMITED.contains(&path) {
        let ip = request
            .extensions()
            .get::<ClientIp>()
            .and_then(|ip| ip.0.parse::<IpAddr>().ok())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Err(not_until) = state.protection.limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let seconds = wait.as_secs().max(1);
            let mut response = error_response(&AppError::new(
                ErrorKind::RateLimited,
                format!("Too many attempts from your address. Try again in {seconds} seconds."),
            ));
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
    }
    next.run(request).await
}

/// Refuses cookie-authenticated state changes that come from another site (CSRF). Browsers
/// send `Origin` with every cross-origin request that changes state (and modern ones send
/// `Sec-Fetch-Site`), which another site cannot forge; a request carrying the session cookies
/// must come from this site's own pages. Requests authenticated by a header (Bearer token,
/// API key) cannot be forged by a page either, so they pass.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let has_cookie_credentials = [ACCESS_COOKIE, REFRESH_COOKIE, "tts_session"]
        .iter()
        .any(|name| services::auth::cookie_value(headers, name).is_some());
    let header_auth = headers.contains_key(axum::http::header::AUTHORIZATION)
        || headers.contains_key(API_KEY_HEADER);
    if safe_method || !has_cookie_credentials || header_auth {
        return next.run(request).await;
    }
    if is_same_site(&state.protection, headers) {
        return next.run(request).await;
    }
    tracing::warn!("cross-site request refused");
    error_response(&AppError::new(
        ErrorKind::Forbidden,
        "Cross-site request refused: changes with session cookies must come from TTS's own pages.",
    ))
}

pub(crate) fn is_same_site(protection: &Protection, headers: &axum::http::HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let host = header(HOST.as_str()).unwrap_or_default();
    let matches_site = |url: &str| match &protection.public_origin {
        Some(origin) => origin_of(url) == *origin,
        None => origin_of(url).split("://").nth(1) == Some(host),
    };
    match (header(ORIGIN.as_str()), header(REFERER.as_str())) {
        (Some(origin), _) => matches_site(origin),
        (None, Some(referer)) => matches_site(referer),
        (None, None) => false,
    }
}

/// Renews a browser's session silently: when its access token is missing or about to expire
/// and it holds a refresh token, the refresh happens here, the request continues with the new
/// access token, and the response sets the new cookies. A refresh token that is no longer
/// valid clears the cookies (the browser is signed out).
pub async fn renew_browser_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let path = request.uri().path();
    let skip = path.starts_with("/pkg/")
        || path.starts_with("/api/v1/auth/token")
        || path == "/health"
        || path == "/ready"
        || path == "/metrics"
        || headers.contains_key(axum::http::header::AUTHORIZATION)
        || headers.contains_key(API_KEY_HEADER);
    let refresh = services::auth::cookie_value(headers, REFRESH_COOKIE);
    let access = services::auth::cookie_value(headers, ACCESS_COOKIE);
    let Some(refresh) = refresh.filter(|_| !skip) else {
        return next.run(request).await;
    };
    let auth = state.services.auth();
    if !auth.access_needs_renewal(access.as_deref()) {
        return next.run(request).await;
    }
    let (new_access, cookies) = match auth.refresh(&refresh).await {
        Ok(tokens) => (Some(tokens.access.clone()), auth.session_cookies(&tokens)),
        Err(services::Error::App(err)) if err.kind == ErrorKind::Unauthorized => {
            (None, auth.clear_session_cookies())
        }
        // The database is away: leave the request as it is; it will fail on its own terms.
        Err(_) => return next.run(request).await,
    };
    rewrite_cookie_header(request.headers_mut(), new_access.as_deref());
    let mut response = next.run(request).await;
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response.into_response()
}

/// Replaces the access token in the request's cookies (or drops the session cookies when the
/// session ended), so the handlers see the renewed state.
fn rewrite_cookie_header(headers: &mut axum::http::HeaderMap, access: Option<&str>) {
    let mut kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() != ACCESS_COOKIE && (access.is_some() || c.name() != REFRESH_COOKIE))
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    if let Some(access) = access {
        kept.push(format!("{ACCESS_COOKIE}={access}"));
    }
    headers.remove(COOKIE);
    if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
        headers.insert(COOKIE, value);
    }
}

/// Finds who requests a page before the page is rendered, once: the application knows the
/// user without waiting (see `app::session`), and the server functions the page calls while
/// rendering do not authenticate again (`app::ssr::principal`). Only page requests pay for it.
pub async fn resolve_page_user(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if super::pages::is_page_request(&request) {
        let caller = match state.services.auth().authenticate(request.headers()).await {
            Ok(principal) => Some(principal),
            Err(services::Error::App(err)) if err.kind == ErrorKind::Unauthorized => Some(None),
            // The database is away: the page's own calls will fail on their own terms.
            Err(err) => {
                tracing::warn!(error = %err, "could not tell who requests a page");
                None
            }
        };
        if let Some(caller) = caller {
            request
                .extensions_mut()
                .insert(app::ssr::PageCaller(caller));
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://tts.example.com/"),
            "https://tts.example.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000/login?x=1"),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn same_site_is_decided_by_fetch_metadata_then_origin_then_referer() {
        let protection = Protection::new(false, None, 10);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert!(!is_same_site(&protection, &headers), "no evidence: refused");
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:3000"));
        assert!(is_same_site(&protection, &headers));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!is_same_site(&protection, &headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!is_same_site(&protection, &headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(is_same_site(&protection, &headers));

        let configured = Protection::new(false, Some("https://tts.example.com"), 10);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            REFERER,
            HeaderValue::from_static("https://tts.example.com/admin"),
        );
        assert!(is_same_site(&configured, &headers));
    }

    #[test]
    fn renewal_swaps_the_access_cookie_and_keeps_the_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; access_token=old; refresh_token=r"),
        );
        rewrite_cookie_header(&mut headers, Some("new"));
        let cookie = headers[COOKIE].to_str().unwrap();
        assert!(cookie.contains("access_token=new") && cookie.contains("refresh_token=r"));
        assert!(cookie.contains("theme=dark") && !cookie.contains("old"));
        rewrite_cookie_header(&mut headers, None);
        assert_eq!(headers[COOKIE].to_str().unwrap(), "theme=dark");
    }
}
