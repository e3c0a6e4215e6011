#!/bin/bash
# Shared by run-critest.sh and compare-critest.sh (sourced, not run): the stand-in images built by
# a first berthd (build-images.sh) into a berth-registry that registry.k8s.io, gcr.io and docker.io
# are mirrored to, a fresh CRI berthd with its own CNI conflist, and their clean-up. The caller sets
# WORK (everything lives under it), BRIDGE and SUBNET (the CRI berthd's CNI network) before sourcing.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CRITEST=${CRITEST:-/work/shared/tools/cri/critest}
CRICTL=${CRICTL:-/work/shared/tools/cri/crictl}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
REG=127.0.0.1:$PORT
[ -x "$CRITEST" ] || { echo "critest not found at $CRITEST" >&2; exit 1; }
pids=()
CRITEST_PID=

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
	rm -f "$WORK/$n.pid"
	for d in /sys/fs/cgroup/*/berth-critest-$n; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	return 0
}
# Pods critest leaves (its benchmarks leave some, as on containerd) go through CRI first: the
# Docker API refuses to remove CRI's containers (cri/guard.ts).
crictl_rm_all() { # crictl_rm_all SOCKET
	[ -S "$1" ] || return 0
	"$CRICTL" -r "unix://$1" -i "unix://$1" --timeout 60s rmp -fa >/dev/null 2>&1
	"$CRICTL" -r "unix://$1" -i "unix://$1" --timeout 60s rm -fa >/dev/null 2>&1
	return 0
}
stop_cri_berthd() {
	crictl_rm_all "$WORK/cri.sock"
	stop_daemon cri
	for f in "$WORK"/cri-exec/cri/netns/*; do [ -e "$f" ] && umount "$f" 2>/dev/null; done
	ip link del "$BRIDGE" 2>/dev/null
	return 0
}
berth_cleanup() { # everything common.sh started, and the mounts under $WORK
	stop_cri_berthd; stop_daemon builder
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	pids=()
	grep " $WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	return 0
}
remove_work() { # KEEP=1 keeps $WORK/report
	if [ "${KEEP:-0}" = 1 ]; then find "$WORK" -mindepth 1 -maxdepth 1 ! -name report -exec rm -rf {} +; else rm -rf "$WORK"; fi
}

start_registry_and_images() {
	"$REPO/bin/berth-registry" --listen "$REG" --root "$WORK/registry" --delete-enabled --access-log off >"$WORK/registry.log" 2>&1 &
	pids+=($!)
	daemon builder --cri=false || return 1
	DOCKER_HOST=unix://$WORK/builder-api.sock "$REPO/bin/berth" image bootstrap busybox >/dev/null || return 1
	DOCKER_HOST=unix://$WORK/builder-api.sock REG=$REG BUILD=$WORK/build BERTH=$REPO/bin/berth "$HERE/build-images.sh" >"$WORK/build.log" 2>&1 ||
		{ cat "$WORK/build.log"; return 1; }
	stop_daemon builder
}

write_conflist() { # write_conflist DIR NAME BRIDGE SUBNET IPAMDIR
	mkdir -p "$1"
	cat >"$1/10-$2.conflist" <<CONF
{ "cniVersion": "1.0.0", "name": "$2", "plugins": [
  { "type": "bridge", "bridge": "$3", "isGateway": true, "ipMasq": true, "promiscMode": true,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$4" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$5" } },
  { "type": "portmap", "capabilities": { "portMappings": true } },
  { "type": "loopback" } ] }
CONF
}

start_cri_berthd() { # a fresh berthd serving CRI on $WORK/cri.sock (roots $WORK/cri-*)
	write_conflist "$WORK/net.d" "${NETNAME:-bcric}" "$BRIDGE" "$SUBNET" "$WORK/ipam"
	local M=(--cri-registry-mirror "registry.k8s.io=http://$REG" --cri-registry-mirror "gcr.io=http://$REG" --cri-registry-mirror "docker.io=http://$REG")
	daemon cri --cri-socket "$WORK/cri.sock" --cni-conf-dir "$WORK/net.d" "${M[@]}" || return 1
	# The CRI socket comes a moment after the API's.
	for _ in $(seq 1 100); do [ -S "$WORK/cri.sock" ] && return 0; sleep 0.1; done
	echo "berthd's CRI socket did not appear" >&2; return 1
}

run_critest() { # run_critest ENDPOINT OUTDIR [critest flags]: critest's log in OUTDIR/critest.log, rc returned
	local ep=$1 out=$2; shift 2
	mkdir -p "$out" "$WORK/tmp"
	ipcs -m >"$out/ipcs-before.txt"
	# In the background and waited for, so that a trapped INT/TERM is handled at once (CRITEST_PID).
	(cd "$WORK" && TMPDIR=$WORK/tmp exec "$CRITEST" -runtime-endpoint "unix://$ep" -image-endpoint "unix://$ep" \
		-ginkgo.noColor -ginkgo.timeout 30m "$@" >"$out/critest.log" 2>&1) &
	CRITEST_PID=$!
	wait "$CRITEST_PID"
	local rc=$?
	CRITEST_PID=
	# critest's HostIpc specs leave shared memory segments on the host (as with containerd): removed.
	ipcs -m | awk 'NR>3 && $2 ~ /^[0-9]+$/ {print $2}' | while read -r id; do grep -qw "$id" "$out/ipcs-before.txt" || ipcrm -m "$id"; done
	return $rc
}
