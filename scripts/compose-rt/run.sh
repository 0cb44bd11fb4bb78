#!/bin/bash
# run.sh SCENARIO.sh  -> runs with docker and quai, writes out/NAME.{d,q}, shows diff
# QUAI: the quai binary (absolute path); RT_STATE: the state directory of env.sh.
QUAI=${QUAI:?set QUAI to the quai binary}
W=${RT_STATE:-/tmp/quai-compose-rt}
N="nsenter --net=/run/netns/quai-rt"
s=$(readlink -f "$1"); name=$(basename "$s" .sh)
mkdir -p $W/out
for side in d q; do
  dir=$W/p-$side/$name; rm -rf "$dir"; mkdir -p "$dir"
  if [ $side = d ]; then C="$N /usr/local/bin/docker compose"; else C="$N $QUAI compose"; fi
  ( cd "$dir"
    export DOCKER_HOST="unix://$W/docker.sock" DOCKER_CONFIG="$W/docker-config" QUAI_ROOT=$W/quai-root QUAI_RUN_DIR=$W/quai-run COMPOSE_PROJECT_NAME=
    r() { echo "\$ $*"; local o e; eval "$C $*" > .o 2> .e; local rc=$?; sed 's/^/  /' .o; sed 's/^/E /' .e; echo "-> $rc"; }
    rs() { echo "\$ $* (sorted)"; eval "$C $*" > .o 2> .e; local rc=$?; sort .o | sed 's/^/  /'; sort .e | sed 's/^/E /'; echo "-> $rc"; }
    . "$s"
    eval "$C --profile '*' down -v -t 0 --remove-orphans" >/dev/null 2>&1
  ) 2>&1 | sed -E -e 's/\b[0-9a-f]{64}\b/<ID>/g; s/\b[0-9a-f]{12}\b/<ID>/g' \
     -e 's/[0-9.]+m?s( |$)/<T>\1/g' -e 's/(About )?(a|an|[0-9]+) (second|minute|hour)s? ago/<AGO>/g' \
     -e 's/Up (Less than a second|About a minute|[0-9]+ (second|minute)s?)/Up <UP>/g' \
     -e 's/20[0-9][0-9]-[0-9-]+T[0-9:.]+Z/<TS>/g; s/20[0-9][0-9]-[0-9-]+ [0-9:]+ \+0000 UTC/<TS>/g' \
     -e 's/Less than <AGO>/<AGO>/; s/ +$/<TR>/; s/   +/  /g' > $W/out/$name.$side
done
diff -u $W/out/$name.d $W/out/$name.q && echo SAME
