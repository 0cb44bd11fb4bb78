#!/usr/bin/env bash
# Regenerates expected, expected.exit and expected.stderr for every case in
# this directory with the reference implementation (docker compose v2.40.3).
#
#   crates/quai/tests/data/compose/regen.sh [CASE...]
#
# Each case is copied (without cmd, env, unordered, expected*) to /tmp/compose-case/NAME
# and `docker compose $(cat cmd)` runs there with a clean environment:
#   env -i PATH=$PATH HOME=/tmp/compose-home <KEY=VALUE lines of env>
# `cmd` is split into words like a POSIX shell would (quotes are honoured;
# there is no globbing and no $ expansion in any cmd file).
# stderr is kept (expected.stderr) when non-empty or on failure, with the
# leading time="..." of logrus lines replaced by time="TIME".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base=/tmp/compose-case
home=/tmp/compose-home
want="$(docker compose version --short 2>/dev/null || true)"
if [ "$want" != "2.40.3" ]; then
  echo "warning: reference is docker compose 2.40.3, found '$want'" >&2
fi
mkdir -p "$base" "$home"
if [ $# -gt 0 ]; then cases=("$@"); else
  cases=(); for d in "$here"/*/; do [ -f "$d/cmd" ] && cases+=("$(basename "$d")"); done
fi
for name in "${cases[@]}"; do
  src="$here/$name"
  dst="$base/$name"
  rm -rf "$dst"; mkdir -p "$dst"
  (cd "$src" && tar cf - --exclude=./cmd --exclude=./env --exclude=./unordered --exclude='./expected*' .) | (cd "$dst" && tar xf -)
  vars=()
  if [ -f "$src/env" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      [ -z "$line" ] && continue
      vars+=("$line")
    done < "$src/env"
  fi
  set -f; eval "args=($(cat "$src/cmd"))"; set +f
  rc=0
  (cd "$dst" && env -i PATH="$PATH" HOME="$home" "${vars[@]}" docker compose "${args[@]}") \
    >"$src/expected" 2>"$src/expected.stderr.tmp" || rc=$?
  if [ -f "$src/unordered" ]; then
    # The reference prints these lines in Go map order (it varies run to run):
    # keep them sorted; the harness sorts the actual lines the same way.
    LC_ALL=C sort -o "$src/expected" "$src/expected"
  fi
  echo "$rc" > "$src/expected.exit"
  if [ "$rc" != 0 ] || [ -s "$src/expected.stderr.tmp" ]; then
    # logrus stamps every warning with the wall clock: normalise it.
    sed -E 's/^time="[^"]*"/time="TIME"/' "$src/expected.stderr.tmp" > "$src/expected.stderr"
    rm -f "$src/expected.stderr.tmp"
  else
    rm -f "$src/expected.stderr.tmp" "$src/expected.stderr"
  fi
  echo "$name: exit $rc"
done
