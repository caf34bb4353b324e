#!/usr/bin/env bash
# Runs every check and test of TTS, as CI does:
#   formatting, clippy (server and WebAssembly builds), unit and integration tests on SQLite
#   and again on PostgreSQL, the release build, and the browser tests in headless Chromium.
# Installs what a fresh machine lacks (scripts/setup.sh) and starts PostgreSQL if needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh --browser --postgres --rabbitmq

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }
started=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server build (ssr)"
cargo clippy --locked -p domain -p services -p app -p server -p end2end --all-targets -- -D warnings

step "clippy: browser build (hydrate, wasm32)"
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

step "tests on SQLite"
cargo test --locked -p domain -p services -p app -p server

step "tests on PostgreSQL"
pg_base="${TTS_TEST_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_test="${pg_base%/*}/tts_test"
psql -q "$pg_base" -c 'DROP DATABASE IF EXISTS tts_test WITH (FORCE)' -c 'CREATE DATABASE tts_test'
TTS_TEST_DATABASE_URL="$pg_test" cargo test --locked -p domain -p services -p app -p server -- --include-ignored

step "release build (cargo leptos build --release -P --split)"
cargo leptos build --release -P --split

step "browser tests (headless Chromium against the release binary)"
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# nextest runs each browser test in its own process and retries a failed one up to twice,
# reporting it as FLAKY: a browser under load occasionally misses a beat, and a rare flake
# should be seen, not block every change.
TTS_E2E_BINARY="$target_dir/release/tts" cargo nextest run --locked -p end2end --test-threads 1 --retries 2

step "all checks passed in $((SECONDS - started)) s"
