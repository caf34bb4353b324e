# TTS: one self-contained binary in a small image.
# Not built on the development machine (it has no Docker engine); kept simple on purpose.
#
#   docker build -t tts .
#   docker run -p 3000:3000 -v tts-data:/data tts            # SQLite in the volume
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://… tts # PostgreSQL

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
RUN cargo install --locked --ignore-rust-version cargo-leptos
# wasm-opt from npm's binaryen: Debian's is too old (hydration breaks with it).
RUN npm install --prefix /opt/binaryen binaryen@132
ENV PATH="/opt/binaryen/node_modules/.bin:${PATH}"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock.
RUN cargo install wasm-bindgen-cli --version "$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
COPY . .
RUN cargo leptos build --release -P --split && cp target/release/tts /usr/local/bin/tts

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data tts \
 && mkdir -p /data && chown tts /data
COPY --from=build /usr/local/bin/tts /usr/local/bin/tts
USER tts
ENV TTS_DATA_DIR=/data \
    TTS_BIND=0.0.0.0:3000 \
    TTS_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/tts"]
CMD ["serve"]
