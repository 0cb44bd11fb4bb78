#!/bin/sh
# Install everything quai needs on Debian 12 (as root), build it, install it to
# /usr/local/bin (quai and the quai-runtime link), and run a first container.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
. scripts/deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo build --release --locked
out=target/x86_64-unknown-linux-gnu/release
install -m 0755 "$out/quai" /usr/local/bin/quai
# The OCI runtime alone, for engines (docs/adr/006); `quai runtime ...` is the same code.
rm -f /usr/local/bin/quai-runtime
install -m 0755 "$out/quai-runtime" /usr/local/bin/quai-runtime
echo "installed: $(quai --version) at /usr/local/bin/quai, and /usr/local/bin/quai-runtime"

# A first container: a busybox image imported into quai, run by the engine.
demo=$(mktemp -d /tmp/quai-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
scripts/make-busybox-rootfs "$demo/rootfs" >/dev/null
tar -C "$demo/rootfs" -cf "$demo/busybox.tar" .
quai import -c 'CMD ["/bin/sh"]' "$demo/busybox.tar" localbusybox >/dev/null
echo "running: quai run --rm localbusybox sh -c ..."
quai run --rm --name quai-demo-$$ localbusybox \
    sh -c 'echo "hello from a quai container: hostname=$(hostname) pid=$$ user=$(id -un)"'

# A web server in a container, on a port published on loopback, and its answer.
port=${QUAI_DEMO_PORT:-18089}
echo "running: quai run -d -p 127.0.0.1:$port:80 localbusybox httpd -f -p 80 -h /var/www"
cid=$(quai run -d --name quai-web-$$ -p "127.0.0.1:$port:80" localbusybox httpd -f -p 80 -h /var/www)
trap 'quai rm -f "$cid" >/dev/null 2>&1; rm -rf "$demo"' EXIT
answer=""
for _ in $(seq 50); do
    answer=$(curl -s --max-time 2 "http://127.0.0.1:$port/") && [ -n "$answer" ] && break
    sleep 0.1
done
echo "curl http://127.0.0.1:$port/ -> $answer"
[ -n "$answer" ] || { echo "install.sh: the published port did not answer" >&2; exit 1; }
