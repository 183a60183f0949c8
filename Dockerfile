# syntax=docker/dockerfile:1
# ferrokey container image: `docker build -t ferrokey .` then
# `docker run -p 6379:6379 ferrokey`. Directives given to `docker run` are
# appended to the command line and override the defaults below, e.g.
# `docker run ferrokey --maxmemory 1gb --maxmemory-policy allkeys-lru`.

# The same toolchain as CI, so the image builds what CI tested.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# cache mounts keep crates and build artifacts between image builds; the
# binary is copied out because the target mount is not part of the layer
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ferrokey \
    && install -m 0755 target/release/ferrokey /usr/local/bin/ferrokey

FROM debian:bookworm-slim
RUN groupadd --system ferrokey \
    && useradd --system --gid ferrokey --home-dir /data --shell /usr/sbin/nologin ferrokey \
    && mkdir -p /data /etc/ferrokey \
    && chown ferrokey:ferrokey /data
COPY --from=build /usr/local/bin/ferrokey /usr/local/bin/ferrokey
COPY conf/ferrokey.conf /etc/ferrokey/ferrokey.conf
WORKDIR /data
VOLUME /data
USER ferrokey
EXPOSE 6379
# Inside a container the server must listen on all interfaces to be reachable
# through a published port, and the container's network is the boundary that
# protected mode would otherwise provide. Snapshots and append only files go to
# the /data volume.
ENTRYPOINT ["ferrokey", "/etc/ferrokey/ferrokey.conf", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data"]
