//! Links that must stay on this site: where to go after signing in (`next=`) and where a
//! notification points. One rule for both, used by the browser and the server alike.
//!
//! Browsers are generous with what they take as another origin: `//evil.example`, `/\evil`
//! (a backslash is a slash to them), and `/\t/evil.example` (tabs and line breaks are removed
//! from URLs before they are resolved, leaving `//evil.example`). A control character would
//! also make the `Location` header unbuildable. So a local path is accepted only in a plain
//! form: a single leading `/`, then printable characters with no backslash, and never a second
//! `/` right after the first once the browser's cleaning is done.

/// Longest local path accepted.
pub const MAX_LOCAL_PATH: usize = 2_000;

/// `path` if it is a path on this site that every browser resolves to this site; `None`
/// otherwise (another origin, a scheme, a control or space character, a backslash, too long).
pub fn local_path(path: &str) -> Option<&str> {
    let mut chars = path.chars();
    let plain = path.len() <= MAX_LOCAL_PATH
        && chars.next() == Some('/')
        // `//host` and `/\host`: another origin. Checked on the raw text: there is nothing
        // between the two marks that a browser would remove, as the check below refuses it.
        && !matches!(chars.next(), Some('/' | '\\'))
        && path
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '\\');
    plain.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn paths_on_this_site_are_kept() {
        for path in [
            "/",
            "/tickets/12",
            "/admin/users?page=2#top",
            "/search?q=caf%C3%A9",
            "/tickets/%2F%2Fx",
        ] {
            assert_eq!(local_path(path), Some(path), "{path}");
        }
    }

    #[test]
    fn anything_a_browser_could_take_elsewhere_is_refused() {
        for path in [
            "",
            "tickets/12",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r\n/evil.example",
            " /x",
            "/ /x",
            "/x\u{0}",
            "/x\u{7f}",
            "/x\u{85}",
            "https://evil.example",
            "javascript:alert(1)",
            "/a\\b",
            "/\u{3000}/evil.example",
        ] {
            assert_eq!(local_path(path), None, "{path:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(3000))), None);
    }
}
