//! Tells the asset embedding where the site folder is. cargo-leptos passes LEPTOS_SITE_ROOT
//! (an absolute path under the target folder); plain cargo builds (tests, clippy) fall back to
//! `<target>/site`, created empty if it does not exist yet.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LEPTOS_SITE_ROOT");
    let site = match std::env::var("LEPTOS_SITE_ROOT") {
        Ok(root) if !root.is_empty() => {
            let root = PathBuf::from(root);
            if root.is_absolute() {
                root
            } else {
                // Relative to the workspace root, which is this package's parent folder.
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join(root)
            }
        }
        _ => target_dir().join("site"),
    };
    let _ = std::fs::create_dir_all(site.join("pkg"));
    println!("cargo:rerun-if-changed={}", site.display());
    println!("cargo:rustc-env=TTS_SITE_ROOT={}", site.display());
}

/// `<target>` from OUT_DIR, which is `<target>/<profile>/build/<pkg>-<hash>/out`.
fn target_dir() -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    out.ancestors()
        .nth(4)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}
