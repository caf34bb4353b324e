#!/usr/bin/env bash
# Builds TTS (installing what is missing) and starts it on its embedded defaults with demo
# data: SQLite under ./data, everything in one process, at http://127.0.0.1:3000.
# Extra arguments go to `tts serve` (for example --bind 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cargo leptos build --release -P --split
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
exec "$target_dir/release/tts" serve --demo "$@"
