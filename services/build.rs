//! Rebuilds this crate when a migration changes: `sqlx::migrate!` embeds the migrations
//! folders at compile time, and on stable Rust cargo does not know the macro read them, so a
//! new migration file would otherwise be missing from a build that reuses the target folder
//! (as `.ci/run`'s cache does). sqlx's documentation recommends this build script.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
