# syntax=docker/dockerfile:1.7
# authbench image: `bench-server` and `loadgen` on Debian bookworm-slim, as a non-root user.
#
#   docker build -t REGISTRY/authbench:TAG .        # BuildKit (Docker >= 23 by default)
#   docker run --rm REGISTRY/authbench:TAG                       # one replica on :8080
#   docker run --rm REGISTRY/authbench:TAG loadgen run --help
#
# Used by deploy/kubernetes (README.md there). Not built by this project's CI (no Docker
# daemon or registry there): scripts/validate-manifests validates the manifests only.

# ---- build: the toolchain of the workspace's rust-version (Cargo.toml)
FROM rust:1.88-slim-bookworm AS build
# aws-lc-sys (JWT crypto) builds with the C compiler of the image; cmake is its fallback.
# Build stage only, nothing of it ships: bookworm's current cmake, unpinned on purpose.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is reused as long as Cargo.lock and the manifests do not
# change, and the registry cache mount keeps downloaded crates across builds.
COPY Cargo.toml Cargo.lock ./
COPY contract/Cargo.toml contract/
COPY bench-server/Cargo.toml bench-server/
COPY loadgen/Cargo.toml loadgen/
COPY report/Cargo.toml report/
COPY benches/Cargo.toml benches/
COPY fuzz-support/Cargo.toml fuzz-support/
# Cargo parses every member's targets even to fetch: empty stand-ins, replaced by COPY below
# (every member has a src/lib.rs, so none is left behind).
RUN for m in contract bench-server loadgen report benches fuzz-support; do \
        mkdir -p "$m/src" && touch "$m/src/lib.rs"; \
    done \
    && mkdir -p benches/benches && touch benches/benches/bench_main.rs
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo fetch --locked
COPY . .
# The target directory is a cache mount (incremental rebuilds), so the binaries are copied
# out of it within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p bench-server -p loadgen \
    && install -D -m 0755 -t /out target/release/bench-server target/release/loadgen

# ---- run: glibc + libgcc only (no TLS anywhere: no CA bundle needed)
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="authbench" \
      org.opencontainers.image.description="Session IDs vs JWTs: bench-server and loadgen" \
      org.opencontainers.image.source="https://github.com/authbench/authbench" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=build /out/bench-server /out/loadgen /usr/local/bin/
# A numeric UID/GID, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
# No ENTRYPOINT: the same image runs `bench-server …` and `loadgen …` (the Kubernetes
# manifests set `command`). By default: one replica listening on every interface.
CMD ["bench-server", "serve", "--listen", "0.0.0.0:8080"]
