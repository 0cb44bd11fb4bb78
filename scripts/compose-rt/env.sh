#!/bin/bash
# quai compose against docker compose v2 (round trip): `env.sh` starts dockerd in a network
# namespace of its own (quai-rt) with private state and imports the busybox image into it
# and into a private quai root; `run.sh sc/NAME.sh` runs a scenario with both and shows
# the diff of their normalized output; `env.sh stop` takes everything down. As root.
# Start: dockerd in netns quai-rt with its state under $RT_STATE; the quai root beside it.
set -euo pipefail
W=${RT_STATE:-/tmp/quai-compose-rt}
ns=quai-rt
cleanup() {
  set +e
  [ -f $W/dockerd.pidsave ] && { kill "$(cat $W/dockerd.pidsave)"; sleep 2; }
  grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$W"
}
if [ "${1:-}" = stop ]; then cleanup; exit 0; fi
trap 'cleanup' ERR
mkdir -p $W
ip netns add "$ns"
ip -n "$ns" link set lo up
N="nsenter --net=/run/netns/$ns"
export DOCKER_HOST="unix://$W/docker.sock" DOCKER_CONFIG="$W/docker-config"
"$(dirname "$0")/../make-busybox-rootfs" "$W/rootfs" >/dev/null
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
setsid $N dockerd --data-root "$W/docker-root" --exec-root "$W/docker-exec" --pidfile "$W/docker.pid" \
  -H "$DOCKER_HOST" --iptables=false --ip6tables=false > "$W/dockerd.log" 2>&1 < /dev/null &
echo $! > $W/dockerd.pidsave
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker import -c 'CMD ["/bin/sh"]' "$W/rootfs.tar" localbusybox >/dev/null
QUAI_ROOT=$W/quai-root QUAI_RUN_DIR=$W/quai-run ${QUAI:-target/x86_64-unknown-linux-gnu/debug/quai} import -c 'CMD ["/bin/sh"]' "$W/rootfs.tar" localbusybox >/dev/null
echo ok
