#!/usr/bin/env bash
# Runs docker-py's own integration suite against Debian's dockerd (docker.io) on its own socket,
# roots and bridge, and writes what test/dockerpy-suite.test.ts holds berthd to:
#   test/dockerpy/dockerd-pass.txt  the tests that pass on dockerd (pytest node ids, sorted)
#   test/dockerpy/excluded.txt      every other test, with the reason: needs Swarm (Berth does no
#                                   Swarm; these are not run here), or dockerd's own failure or
#                                   skip here (Docker Hub and the internet are unreachable, no
#                                   credential helper, …)
# The daemon gets busybox:latest from `berth image bootstrap busybox` (through the import API, the
# same rootfs a test berthd gets) tagged alpine:3.10, the tag the suite uses, as
# test/dockerpy-suite.test.ts does. Swarm tests are not run (they need a swarm; Berth has none).
#
# Usage: scripts/dockerpy-reference.sh [suite dir]   (default ../shared/clients/docker-py)
# Env:   DPY_REF_BRIDGE (default bdpyref0), DPY_REF_BIP (default 10.207.250.1/24),
#        DPY_REF_TIMEOUT seconds for pytest (default 1200)
# Needs root, /usr/sbin/dockerd, /usr/bin/python3 with python3-pytest, -requests, -paramiko,
# -websocket (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SUITE=$(realpath "${1:-../shared/clients/docker-py}")
BR=${DPY_REF_BRIDGE:-bdpyref0}
BIP=${DPY_REF_BIP:-10.207.250.1/24}
TIMEOUT=${DPY_REF_TIMEOUT:-1200}
PY=/usr/bin/python3
[ -d "$SUITE/tests/integration" ] || { echo "no docker-py suite at $SUITE" >&2; exit 1; }
[ -x /usr/sbin/dockerd ] || { echo "dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
"$PY" -c 'import pytest, requests, paramiko, websocket' || { echo "run scripts/install-deps.sh (python3-pytest …)" >&2; exit 1; }
[ -x bin/berth ] && [ -f dist/berth.mjs ] || { echo "build first: npm run build" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/dpyref.XXXXXX)
SOCK=$ROOT/d.sock
DPID=
cleanup() {
  set +e
  if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
    DOCKER_HOST=unix://$SOCK docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=unix://$SOCK docker rm -f >/dev/null 2>&1
    kill "$DPID"
    for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DPID" 2>/dev/null
  fi
  # dockerd leaves its mounts (and containerd-shims of killed containers) under its roots
  for p in $(pgrep -f "$ROOT" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  grep " $ROOT" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  # its rules for the bridge, then the bridge
  for t in nat filter; do
    iptables-save -t "$t" | grep -E "(-i|-o) $BR( |$)" | sed 's/^-A/-D/' | while read -r rule; do
      eval "iptables -t $t $rule" 2>/dev/null
    done
  done
  ip link del "$BR" 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT

ip link add "$BR" type bridge
ip addr add "$BIP" dev "$BR"
ip link set "$BR" up
echo '{}' > "$ROOT/daemon.json"
/usr/sbin/dockerd -H "unix://$SOCK" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
  --pidfile "$ROOT/d.pid" --config-file "$ROOT/daemon.json" --bridge "$BR" > "$ROOT/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 150); do curl -sf --unix-socket "$SOCK" http://l/_ping >/dev/null && break; sleep 0.2; done
curl -sf --unix-socket "$SOCK" http://l/_ping >/dev/null || { tail -20 "$ROOT/dockerd.log" >&2; exit 1; }
BERTH_HOST=unix://$SOCK bin/berth image bootstrap busybox
BERTH_HOST=unix://$SOCK bin/berth tag busybox:latest alpine:3.10

cp -r "$SUITE" "$ROOT/dpy"
chmod -R u+w "$ROOT/dpy"
mkdir -p "$ROOT/home"
mapfile -t swarm < <("$PY" scripts/dockerpy.py swarm "$ROOT/dpy")
deselect=()
for t in "${swarm[@]}"; do deselect+=(--deselect "$t"); done
echo "running docker-py's suite on dockerd (${#swarm[@]} Swarm tests deselected)"
start=$(date +%s)
( cd "$ROOT/dpy" && env HOME="$ROOT/home" DOCKER_HOST="unix://$SOCK" PYTHONDONTWRITEBYTECODE=1 \
    timeout -k 10 "$TIMEOUT" "$PY" -m pytest tests/integration -q -p no:cacheprovider \
    --junitxml="$ROOT/dockerd.xml" "${deselect[@]}" > "$ROOT/pytest.log" 2>&1 ) || true
echo "pytest took $(( $(date +%s) - start )) s: $(tail -1 "$ROOT/pytest.log")"
[ -s "$ROOT/dockerd.xml" ] || { tail -30 "$ROOT/pytest.log" >&2; exit 1; }

mkdir -p test/dockerpy
"$PY" scripts/dockerpy.py results "$ROOT/dockerd.xml" "$ROOT/dpy" > "$ROOT/results.tsv"
awk -F'\t' '$1 == "pass" { print $2 }' "$ROOT/results.tsv" | LC_ALL=C sort > test/dockerpy/dockerd-pass.txt
{
  echo "# docker-py integration tests that test/dockerpy-suite.test.ts does not require to pass on berthd,"
  echo "# with the reason (written by scripts/dockerpy-reference.sh against dockerd $(/usr/sbin/dockerd --version | sed 's/^Docker version //'))"
  for t in "${swarm[@]}"; do printf '%s\tneeds Swarm (Berth does not do Swarm)\n' "$t"; done
  awk -F'\t' '$1 != "pass" { r = ($1 == "skipped" ? "skipped on dockerd: " : "fails on dockerd here: ") $3; printf "%s\t%s\n", $2, r }' "$ROOT/results.tsv"
} | awk 'NR <= 2 { print; next } { print | "LC_ALL=C sort" }' > test/dockerpy/excluded.txt
echo "test/dockerpy/dockerd-pass.txt: $(wc -l < test/dockerpy/dockerd-pass.txt) tests; test/dockerpy/excluded.txt: $(grep -vc '^#' test/dockerpy/excluded.txt) tests"
