//! Makes sure the site folder the binary embeds exists, so plain cargo builds (tests, clippy)
//! work before cargo-leptos has built the site.
//!
//! The folder is `target/site` of the checkout being built (`site-root` in Cargo.toml), named
//! relative to this package in `http::assets`, not passed from here: cargo shares a build
//! script's result between checkouts that share a target folder (the cache of `.ci/run`), so
//! an absolute path from here could name another checkout's site, and the binary would
//! embed that checkout's pages and styles.

use std::path::PathBuf;

fn main() {
    // At run time, not `env!`: the compiled build script itself may come from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let site = PathBuf::from(manifest).join("../target/site");
    let _ = std::fs::create_dir_all(site.join("pkg"));
}
