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
use services::auth::{
    ACCESS_COOKIE, ClientIp, CredentialSource, REFRESH_COOKIE, credential_source,
};

use super::AppState;
use super::rest::error_response;

/// Settings of these protections.
#[derive(Clone)]
pub struct Protection {
    /// Behind how many trusted proxies TTS runs (`X-Forwarded-For` is read only then).
    pub trusted_proxies: Option<usize>,
    /// The site's own origin (`https://tts.example.com`), when configured; otherwise requests
    /// are compared with their own `Host`.
    pub public_origin: Option<String>,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Lets a scraper on another host read `/metrics` (`TTS_METRICS_TOKEN`).
    metrics_token: Option<String>,
}

/// Past this many remembered addresses, the limiter forgets those whose allowance is whole
/// again (governor keeps every key it has seen until told to).
const LIMITER_PRUNE_AT: usize = 10_000;

impl Protection {
    pub fn new(trusted_proxies: Option<usize>, public_url: Option<&str>, per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            trusted_proxies,
            public_origin: public_url.map(origin_of),
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            metrics_token: None,
        }
    }

    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token;
        self
    }

    /// Whether a request may read `/metrics`: with the configured bearer token, or, without
    /// one, from this host itself (a loopback connection carrying no proxy's forwarding
    /// header: a proxy on this host would otherwise make every visitor local). The figures
    /// name routes, rates and the process's health: not for the public.
    pub fn may_read_metrics(&self, peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> bool {
        if let Some(token) = &self.metrics_token {
            return services::auth::bearer_token(headers).is_some_and(|given| {
                services::auth::crypto::constant_time_eq(given.as_bytes(), token.as_bytes())
            });
        }
        let forwarded =
            headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
        peer.is_some_and(|ip| ip.is_loopback()) && !forwarded
    }

    /// Counts one attempt from `ip`: `Err` with how long to wait when over the limit.
    fn check_rate(&self, ip: IpAddr) -> Result<(), std::time::Duration> {
        if self.limiter.len() > LIMITER_PRUNE_AT {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&rate_key(ip)).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    /// How many addresses the limiter remembers (for tests).
    pub fn remembered_addresses(&self) -> usize {
        self.limiter.len()
    }
}

/// The key an address is limited under: an IPv4 address itself, an IPv6 address by its /64
/// network (one subscriber holds a whole /64 and can pick any address in it).
fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(network))
            }
        },
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

/// The client's address as the trusted proxies saw it. Each proxy appends the address it
/// received the request from, so only the right end of `X-Forwarded-For` is theirs: with `n`
/// proxies the client is `n` places from the right. Whatever the client wrote itself is to the
/// left of that and never read. A list shorter than `n` holds only proxies' entries: its first
/// one is taken. `None` if the header is absent or that entry is not an address.
fn forwarded_client(headers: &axum::http::HeaderMap, proxies: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let entry = entries.get(entries.len().saturating_sub(proxies))?;
    entry.parse().ok()
}

/// Puts the client's IP in the request extensions: the socket's peer, or, behind trusted
/// proxies, the address they recorded in `X-Forwarded-For` ([`forwarded_client`]).
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
        .trusted_proxies
        .and_then(|proxies| forwarded_client(request.headers(), proxies));
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
        if let Err(wait) = state.protection.check_rate(ip) {
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
/// API key) cannot be forged by a page, so they pass; what counts is how the request will be
/// authenticated (`credential_source`), not whether some header is present.
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
    let by_cookies = credential_source(headers) == CredentialSource::Cookies;
    if safe_method || !by_cookies {
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
        || credential_source(headers) != CredentialSource::Cookies;
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

/// The headers every response carries, whatever produced it (a page, the API, a file, an
/// error, a panic): no sniffing, no framing, no referrer beyond this site, no powerful browser
/// features, HSTS when the site is served over https, and a Content-Security-Policy. A page
/// sets its own policy with its script nonce (`app::ssr::page_policy`); the API docs get one
/// that lets Swagger UI run from this site; everything else may load nothing at all.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "same-origin");
    set("cross-origin-opener-policy", "same-origin");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    set(
        "content-security-policy",
        if docs {
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        } else {
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        },
    );
    if state.secure_cookies {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
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
        let protection = Protection::new(None, None, 10);
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

        let configured = Protection::new(None, Some("https://tts.example.com"), 10);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            REFERER,
            HeaderValue::from_static("https://tts.example.com/admin"),
        );
        assert!(is_same_site(&configured, &headers));
    }

    #[test]
    fn the_client_is_what_the_trusted_proxies_appended() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(forwarded_client(&headers, 1), None);
        // The client wrote "6.6.6.6, 7.7.7.7"; the proxy appended the address it saw.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 7.7.7.7, 203.0.113.9"),
        );
        assert_eq!(forwarded_client(&headers, 1), "203.0.113.9".parse().ok());
        // Two proxies: the outer one appended the client, the inner one the outer proxy.
        assert_eq!(forwarded_client(&headers, 2), "7.7.7.7".parse().ok());
        // Fewer entries than proxies: all are the proxies' own; the first is the client.
        assert_eq!(forwarded_client(&headers, 5), "6.6.6.6".parse().ok());
        // A second header line counts as the list's continuation.
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.1"));
        assert_eq!(forwarded_client(&headers, 1), "198.51.100.1".parse().ok());
        let mut garbage = axum::http::HeaderMap::new();
        garbage.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, not-an-ip"),
        );
        assert_eq!(forwarded_client(&garbage, 1), None);
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_key(a), rate_key(b));
        assert_ne!(rate_key(a), rate_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(rate_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let protection = Protection::new(None, None, 1);
        assert!(protection.check_rate(a).is_ok());
        assert!(
            protection.check_rate(b).is_err(),
            "same /64: same allowance"
        );
        assert!(protection.check_rate(other).is_ok());
    }

    #[test]
    fn the_limiter_forgets_addresses_whose_allowance_is_whole_again() {
        let protection = Protection::new(None, None, 600_000);
        for i in 0..=(LIMITER_PRUNE_AT as u32 + 10) {
            let _ = protection.check_rate(IpAddr::from(i.to_be_bytes()));
        }
        // 600,000 a minute refills in a tenth of a millisecond: the earlier keys are whole.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let _ = protection.check_rate(IpAddr::from([10, 0, 0, 1]));
        let _ = protection.check_rate(IpAddr::from([10, 0, 0, 2]));
        assert!(
            protection.remembered_addresses() < LIMITER_PRUNE_AT,
            "{}",
            protection.remembered_addresses()
        );
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
