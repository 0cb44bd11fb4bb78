#!/bin/sh
# The whole test suite, privileged tests included (run as root): format, lints, unit,
# integration and end-to-end tests. Exits non-zero when anything fails.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || echo "test.sh: not root: privileged tests will be skipped" >&2
. scripts/deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo nextest"
# Tests that this machine cannot run say so here (common::skip), besides their stderr.
QUAI_TEST_SKIPS=$(mktemp /tmp/quai-test-skips.XXXXXX)
export QUAI_TEST_SKIPS
status=0
cargo nextest run --workspace --locked --no-fail-fast || status=$?
if [ -s "$QUAI_TEST_SKIPS" ]; then
    echo "== skipped on this machine"
    sort "$QUAI_TEST_SKIPS"
fi
rm -f "$QUAI_TEST_SKIPS"
exit "$status"
