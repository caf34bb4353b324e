#!/usr/bin/env bash
# Installs what building and testing TTS needs and a fresh machine lacks; skips what is there.
# Sourced by the other scripts (it exports PATH); safe to run again.
#   - the wasm32 target, cargo-leptos, wasm-bindgen-cli matching Cargo.lock
#   - wasm-opt from npm's binaryen (Debian's is too old: hydration breaks with it)
#   - aiosmtpd from PyPI (a real SMTP server for the e-mail tests)
#   - celery from PyPI (a real Celery client for the RabbitMQ tests)
#   - with --browser: Debian's chromium and chromium-driver (for the browser tests), and
#     axe-core from npm (end2end/package.json: the tests' accessibility audit)
#   - with --postgres: a running PostgreSQL (started if it is installed but stopped)
#   - with --rabbitmq: a running RabbitMQ (started if it is installed but stopped)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TTS_TOOLS_CACHE:-$HOME/.cache/tts}"
mkdir -p "$cache"
export PATH="$HOME/.cargo/bin:$cache/binaryen/node_modules/.bin:$PATH"

want_browser=0
want_postgres=0
want_rabbitmq=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --postgres) want_postgres=1 ;;
    --rabbitmq) want_rabbitmq=1 ;;
  esac
done

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v cargo-leptos >/dev/null; then
  say "installing cargo-leptos (about 11 minutes, once)"
  # --ignore-rust-version: a dependency of cargo-leptos declares a newer rustc than this
  # machine's 1.95 but builds with it.
  cargo install --locked --ignore-rust-version cargo-leptos
fi

bindgen_version="$(grep -A1 '^name = "wasm-bindgen"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (it must match Cargo.lock)"
  # Without --locked: the locked dependency set does not resolve offline (TOOLCHAIN.md).
  cargo install --force wasm-bindgen-cli --version "$bindgen_version"
fi

if ! command -v cargo-nextest >/dev/null; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

if ! "$cache/binaryen/node_modules/.bin/wasm-opt" --version >/dev/null 2>&1; then
  say "installing wasm-opt (npm binaryen 132)"
  npm install --silent --prefix "$cache/binaryen" binaryen@132
fi

if ! python3 -c 'import celery' >/dev/null 2>&1; then
  say "installing celery from PyPI (the RabbitMQ tests' Celery client)"
  python3 -m pip install --quiet --disable-pip-version-check 'celery>=5,<6' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'celery>=5,<6'
fi
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  say "installing aiosmtpd from PyPI (the e-mail tests' SMTP server)"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd
fi

if [ "$want_browser" = 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  say "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ "$want_browser" = 1 ] && [ ! -f "$root/end2end/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null; then
    say "installing Debian's npm (for axe-core)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq npm >/dev/null
  fi
  say "installing axe-core from npm (the browser tests' accessibility audit)"
  (cd "$root/end2end" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$want_postgres" = 1 ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "starting PostgreSQL"
    if [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    else
      echo "PostgreSQL is not installed; install it or set TTS_TEST_DATABASE_URL" >&2
      exit 1
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi

if [ "$want_rabbitmq" = 1 ] && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  say "starting RabbitMQ"
  if command -v rabbitmq-server >/dev/null; then
    rabbitmq-server -detached
    for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
    rabbitmqctl await_startup >/dev/null
  else
    echo "RabbitMQ is not installed; install rabbitmq-server or set TTS_TEST_AMQP_URL" >&2
    exit 1
  fi
fi
