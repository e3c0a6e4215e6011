#!/bin/bash
# critest v1.26.1 against a fresh berthd, as the anchor ran it against containerd
# (/work/shared/cri-anchor/REPRODUCE.md §4): the stand-in images are built by a first berthd
# (test/cri/build-images.sh) into a berth-registry that registry.k8s.io, gcr.io and docker.io are
# mirrored to, then critest runs against a second berthd on fresh roots with its own CNI conflist
# (bridge bcric1, 10.207.0.128/25: test/cri.test.ts has bcric0 and the lower half, so the two can
# run side by side). Everything lives under $WORK and is removed at the end
# (KEEP=1 keeps the report). Prints the pass count; the report is $WORK/report/.
# usage: test/cri/run-critest.sh [extra critest flags]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CRITEST=${CRITEST:-/work/shared/tools/cri/critest}
CRICTL=${CRICTL:-/work/shared/tools/cri/crictl}
WORK=${WORK:-/tmp/berth-critest}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
REG=127.0.0.1:$PORT
[ -x "$CRITEST" ] || { echo "critest not found at $CRITEST" >&2; exit 1; }
rm -rf "$WORK"; mkdir -p "$WORK/net.d" "$WORK/tmp" "$WORK/report"; echo "{}" >"$WORK/daemon.json"
pids=()
daemon() { # daemon NAME [flags]: a berthd on $WORK/NAME-{root,exec,sock,pid}
	local n=$1; shift
	"$REPO/bin/berthd" --data-root "$WORK/$n-root" --exec-root "$WORK/$n-exec" --pidfile "$WORK/$n.pid" \
		-H "unix://$WORK/$n-api.sock" --bridge none --cgroup-parent "/berth-critest-$n" --config-file "$WORK/daemon.json" "$@" \
		>"$WORK/$n.log" 2>&1 &
	for _ in $(seq 1 100); do [ -S "$WORK/$n-api.sock" ] && return 0; sleep 0.1; done
	echo "berthd $n did not start" >&2; cat "$WORK/$n.log" >&2; return 1
}
stop_daemon() { # stop_daemon NAME: its containers removed, then SIGTERM
	local n=$1
	[ -f "$WORK/$n.pid" ] || return 0
	DOCKER_HOST=unix://$WORK/$n-api.sock "$REPO/bin/berth" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=unix://$WORK/$n-api.sock "$REPO/bin/berth" rm -f >/dev/null 2>&1
	kill "$(cat "$WORK/$n.pid")" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$(cat "$WORK/$n.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
	for d in /sys/fs/cgroup/*/berth-critest-$n; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	return 0
}
cleanup() {
	# Pods critest leaves (its benchmarks leave some, as on containerd) go through CRI first: the
	# Docker API refuses to remove CRI's containers (cri/guard.ts).
	if [ -S "$WORK/cri.sock" ]; then
		"$CRICTL" -r "unix://$WORK/cri.sock" -i "unix://$WORK/cri.sock" --timeout 60s rmp -fa >/dev/null 2>&1
		"$CRICTL" -r "unix://$WORK/cri.sock" -i "unix://$WORK/cri.sock" --timeout 60s rm -fa >/dev/null 2>&1
	fi
	stop_daemon cri; stop_daemon builder
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$WORK"/cri-exec/cri/netns/*; do [ -e "$f" ] && umount "$f" 2>/dev/null; done
	grep " $WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	ip link del bcric1 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then find "$WORK" -mindepth 1 -maxdepth 1 ! -name report -exec rm -rf {} +; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$REPO/bin/berth-registry" --listen "$REG" --root "$WORK/registry" --delete-enabled --access-log off >"$WORK/registry.log" 2>&1 &
pids+=($!)
daemon builder --cri=false || exit 1
DOCKER_HOST=unix://$WORK/builder-api.sock "$REPO/bin/berth" image bootstrap busybox >/dev/null || exit 1
DOCKER_HOST=unix://$WORK/builder-api.sock REG=$REG BUILD=$WORK/build BERTH=$REPO/bin/berth "$HERE/build-images.sh" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
stop_daemon builder

cat >"$WORK/net.d/10-bcric.conflist" <<CONF
{ "cniVersion": "1.0.0", "name": "bcric", "plugins": [
  { "type": "bridge", "bridge": "bcric1", "isGateway": true, "ipMasq": true, "promiscMode": true,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.207.0.128/25" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$WORK/ipam" } },
  { "type": "portmap", "capabilities": { "portMappings": true } },
  { "type": "loopback" } ] }
CONF
M=(--cri-registry-mirror "registry.k8s.io=http://$REG" --cri-registry-mirror "gcr.io=http://$REG" --cri-registry-mirror "docker.io=http://$REG")
daemon cri --cri-socket "$WORK/cri.sock" --cni-conf-dir "$WORK/net.d" "${M[@]}" || exit 1
# The CRI socket comes a moment after the API's.
for _ in $(seq 1 100); do [ -S "$WORK/cri.sock" ] && break; sleep 0.1; done
ipcs -m >"$WORK/ipcs-before.txt"
cd "$WORK" && TMPDIR=$WORK/tmp "$CRITEST" -runtime-endpoint "unix://$WORK/cri.sock" -image-endpoint "unix://$WORK/cri.sock" \
	-ginkgo.noColor -ginkgo.timeout 30m -ginkgo.junit-report "$WORK/report/junit.xml" "$@" >"$WORK/report/critest.log" 2>&1
rc=$?
# critest's HostIpc specs leave shared memory segments on the host (as with containerd): removed.
ipcs -m | awk 'NR>3 && $2 ~ /^[0-9]+$/ {print $2}' | while read -r id; do grep -qw "$id" "$WORK/ipcs-before.txt" || ipcrm -m "$id"; done
grep -E "^Ran |Passed \|" "$WORK/report/critest.log"
grep -E "^\s+\[FAIL\]" "$WORK/report/critest.log" | sort -u
cp "$WORK/cri.log" "$WORK/report/berthd.log"
exit $rc
