//! Live WebSockets in the browser: a socket to a path of this site that reconnects with
//! backoff until it is closed, and hands each text message to a callback. The comment thread
//! and the notification bell turn its messages into signals.
//!
//! The sockets live in the page (a `web_sys::WebSocket` is not `Send`), so components hold a
//! [`Socket`], a plain number, and the socket itself stays in a table of this thread. On the
//! server nothing is opened: every function here does nothing there.

/// A live socket (or none, on the server). Copy it freely; [`Socket::close`] ends it for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket(u64);

/// Why the server ended a socket for good: the page stops reconnecting and says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEnded {
    /// The user was signed out (here or elsewhere), or their account was deactivated (4401).
    SignedOut,
    /// The user may no longer see what the socket is about (4403).
    OutOfReach,
}

impl SocketEnded {
    /// The close codes the server uses (`services::auth::socket_rights`, the comment socket);
    /// `None` for a close after which the socket reconnects.
    pub fn from_close_code(code: u16) -> Option<SocketEnded> {
        match code {
            4401 => Some(SocketEnded::SignedOut),
            4403 => Some(SocketEnded::OutOfReach),
            _ => None,
        }
    }
}

/// Close codes after which the socket comes back at once rather than after a pause: it fell
/// behind (4008: reload), or its access token expired (4001: the reconnection renews it).
pub fn reconnect_at_once(code: u16) -> bool {
    matches!(code, 4001 | 4008)
}

/// Milliseconds since the epoch (the browser's clock in the browser).
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// How long to wait before the `attempt`th reconnection: 0.5 s doubling up to 30 s, with up
/// to a fifth more at random so that a restarted server is not hit by every tab at once.
pub fn backoff_millis(attempt: u32, random: f64) -> u32 {
    let base = 500u32.saturating_mul(1 << attempt.min(6)).min(30_000);
    base + (f64::from(base) * 0.2 * random.clamp(0.0, 1.0)) as u32
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;
    use std::time::Duration;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

    use super::{Socket, SocketEnded, backoff_millis, reconnect_at_once};

    type OnMessage = Rc<dyn Fn(String)>;
    type OnOpen = Rc<dyn Fn(bool)>;
    type OnEnd = Rc<dyn Fn(SocketEnded)>;

    struct Entry {
        url: String,
        socket: Option<WebSocket>,
        attempts: u32,
        opened_before: bool,
        on_message: OnMessage,
        on_open: OnOpen,
        on_end: OnEnd,
        // Kept alive as long as the socket they handle.
        _handlers: Vec<Closure<dyn FnMut(Event)>>,
    }

    thread_local! {
        static SOCKETS: RefCell<HashMap<u64, Entry>> = RefCell::new(HashMap::new());
        static NEXT: Cell<u64> = const { Cell::new(1) };
    }

    fn url_of(path: &str) -> Option<String> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}{path}", location.host().ok()?))
    }

    pub fn open(path: &str, on_message: OnMessage, on_open: OnOpen, on_end: OnEnd) -> Socket {
        let id = NEXT.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        let Some(url) = url_of(path) else {
            return Socket(0);
        };
        SOCKETS.with(|s| {
            s.borrow_mut().insert(
                id,
                Entry {
                    url,
                    socket: None,
                    attempts: 0,
                    opened_before: false,
                    on_message,
                    on_open,
                    on_end,
                    _handlers: Vec::new(),
                },
            )
        });
        connect(id);
        Socket(id)
    }

    fn connect(id: u64) {
        let Some(url) = SOCKETS.with(|s| s.borrow().get(&id).map(|e| e.url.clone())) else {
            return;
        };
        let Ok(socket) = WebSocket::new(&url) else {
            return reconnect_later(id);
        };
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let callback = SOCKETS.with(|s| {
                s.borrow_mut().get_mut(&id).map(|e| {
                    e.attempts = 0;
                    let again = e.opened_before;
                    e.opened_before = true;
                    (e.on_open.clone(), again)
                })
            });
            if let Some((callback, again)) = callback {
                callback(again);
            }
        });
        let on_message = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            let callback = SOCKETS.with(|s| s.borrow().get(&id).map(|e| e.on_message.clone()));
            if let Some(callback) = callback {
                callback(text);
            }
        });
        let on_close = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let code = event.dyn_ref::<CloseEvent>().map_or(0, CloseEvent::code);
            if let Some(ended) = SocketEnded::from_close_code(code) {
                // Over for good: no reconnection; the page says why.
                let entry = SOCKETS.with(|s| s.borrow_mut().remove(&id));
                if let Some(entry) = entry {
                    (entry.on_end)(ended);
                }
                return;
            }
            let open = SOCKETS.with(|s| {
                s.borrow_mut().get_mut(&id).map(|e| {
                    e.socket = None;
                    if reconnect_at_once(code) {
                        e.attempts = 0;
                    }
                })
            });
            if open.is_some() {
                reconnect_later(id);
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        SOCKETS.with(|s| {
            if let Some(entry) = s.borrow_mut().get_mut(&id) {
                entry.socket = Some(socket);
                entry._handlers = vec![on_open, on_message, on_close];
            } else {
                // Closed meanwhile.
                let _ = socket.close();
            }
        });
    }

    fn reconnect_later(id: u64) {
        let Some(attempt) = SOCKETS.with(|s| {
            s.borrow_mut().get_mut(&id).map(|e| {
                e.attempts += 1;
                e.attempts
            })
        }) else {
            return;
        };
        let delay = backoff_millis(attempt - 1, web_sys::js_sys::Math::random());
        leptos::prelude::set_timeout(move || connect(id), Duration::from_millis(u64::from(delay)));
    }

    pub fn send(id: u64, text: &str) -> bool {
        SOCKETS.with(|s| {
            s.borrow()
                .get(&id)
                .and_then(|e| e.socket.as_ref())
                .filter(|socket| socket.ready_state() == WebSocket::OPEN)
                .is_some_and(|socket| socket.send_with_str(text).is_ok())
        })
    }

    pub fn close(id: u64) {
        let entry = SOCKETS.with(|s| s.borrow_mut().remove(&id));
        if let Some(socket) = entry.and_then(|e| e.socket) {
            socket.set_onclose(None);
            socket.set_onmessage(None);
            socket.set_onopen(None);
            let _ = socket.close();
        }
    }
}

impl Socket {
    /// Opens a socket to `path` (`/ws/…/`) on this site. `on_message` gets each text message;
    /// `on_open` is told whether the connection is a reconnection (events may have been
    /// missed: reload); `on_end` is told when the server ended it for good. In the browser
    /// only.
    #[cfg(feature = "hydrate")]
    pub fn open(
        path: &str,
        on_message: impl Fn(String) + 'static,
        on_open: impl Fn(bool) + 'static,
        on_end: impl Fn(SocketEnded) + 'static,
    ) -> Socket {
        browser::open(
            path,
            std::rc::Rc::new(on_message),
            std::rc::Rc::new(on_open),
            std::rc::Rc::new(on_end),
        )
    }

    /// On the server: no socket.
    #[cfg(not(feature = "hydrate"))]
    pub fn open(
        _path: &str,
        _on_message: impl Fn(String) + 'static,
        _on_open: impl Fn(bool) + 'static,
        _on_end: impl Fn(SocketEnded) + 'static,
    ) -> Socket {
        Socket(0)
    }

    /// Sends a text message if the socket is open now (whether it was sent).
    pub fn send(self, text: &str) -> bool {
        #[cfg(feature = "hydrate")]
        return browser::send(self.0, text);
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = text;
            false
        }
    }

    /// Closes the socket for good (no reconnection).
    pub fn close(self) {
        #[cfg(feature = "hydrate")]
        browser::close(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::{SocketEnded, backoff_millis, reconnect_at_once};

    #[test]
    fn the_servers_close_codes_say_whether_to_come_back() {
        assert_eq!(
            SocketEnded::from_close_code(4401),
            Some(SocketEnded::SignedOut)
        );
        assert_eq!(
            SocketEnded::from_close_code(4403),
            Some(SocketEnded::OutOfReach)
        );
        assert_eq!(SocketEnded::from_close_code(4001), None);
        assert!(reconnect_at_once(4001) && reconnect_at_once(4008));
        assert!(!reconnect_at_once(1006));
    }

    #[test]
    fn reconnections_back_off_up_to_half_a_minute() {
        assert_eq!(backoff_millis(0, 0.0), 500);
        assert_eq!(backoff_millis(1, 0.0), 1_000);
        assert_eq!(backoff_millis(3, 0.0), 4_000);
        assert_eq!(backoff_millis(20, 0.0), 30_000);
        assert_eq!(backoff_millis(20, 1.0), 36_000);
    }
}
