#!/bin/bash
# critest v1.26.1 against containerd 1.6 (Debian's package, its CRI plugin) and against a fresh
# berthd, one after the other in the same conditions: the same stand-in images in the same local
# berth-registry (common.sh / build-images.sh), the same CNI plugins and conflist shape, each
# daemon on its own roots, socket and bridge (containerd: bcmpc0 10.216.0.0/24, berthd: bcmpb0
# 10.217.0.0/24). containerd's config is the anchor's (/work/shared/cri-anchor/setup/
# containerd.toml) with its paths moved under $WORK/ctd and its registry hosts pointing at the
# local registry.
#   validation (default): prints a per-spec table (spec, containerd, berthd) and the specs failing
#     on both with the junit failure text; reports in $WORK/report/{containerd,berthd}/junit.xml.
#   BENCH=1: critest -benchmark with the anchor's benchmark-params.yaml (sample counts scaled by
#     BENCH_CRI_SAMPLES, default 50 pods/containers, images 2/5 of it); JSON in
#     $WORK/report/{containerd,berthd}/bench/ (bench/cri.ts summarises them).
# ONLY=berthd|containerd runs one side. KEEP=1 keeps $WORK/report. Everything else is removed.
# usage: test/cri/compare-critest.sh [extra critest flags]
set -uo pipefail
WORK=${WORK:-/tmp/berth-critest-compare}
BRIDGE=bcmpb0
SUBNET=10.217.0.0/24
NETNAME=bcmpb
CBRIDGE=bcmpc0
CSUBNET=10.216.0.0/24
CNETNAME=bcmpc
ANCHOR=${ANCHOR:-/work/shared/cri-anchor/setup}
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
CTD=$WORK/ctd
CTDSOCK=$CTD/containerd.sock
BENCH=${BENCH:-0}
ONLY=${ONLY:-}

stop_containerd() {
	crictl_rm_all "$CTDSOCK"
	if [ -f "$CTD/containerd.pid" ]; then
		local pid; pid=$(cat "$CTD/containerd.pid")
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		rm -f "$CTD/containerd.pid"
	fi
	# shims of this containerd only (matched on its socket path)
	ps -eo pid=,args= | awk -v s="-address $CTDSOCK" '$2 ~ /containerd-shim/ && index($0, s) {print $1}' | while read -r p; do kill -KILL "$p"; done
	grep " $CTD" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	ip link del "$CBRIDGE" 2>/dev/null
	# libcni's result cache (/var/lib/cni, not configurable in containerd 1.6): this network's entries
	rm -f /var/lib/cni/results/$CNETNAME-*
	# containerd's cgroupfs parent for CRI pods is /k8s.io (not configurable): removed when empty
	for d in /sys/fs/cgroup/*/k8s.io; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	return 0
}
nat_cleanup() { # CNI chains of the two networks (normally gone after CNI DEL), then portmap's shared chains if empty
	local ch
	iptables-save -t nat | grep -E "^-A POSTROUTING .*name: \\\\\"($CNETNAME|$NETNAME)\\\\\"" | sed 's/^-A /-D /' |
		while read -r rule; do eval iptables -t nat "$rule"; done
	for ch in $(iptables-save -t nat | awk '/^:CNI-/ {print substr($1,2)}'); do
		case "$ch" in CNI-HOSTPORT-*) continue ;; esac
		if iptables -t nat -S "$ch" | grep -qE "10\.216\.0\.|10\.217\.0\.|name: \\\\\"($CNETNAME|$NETNAME)\\\\\""; then
			iptables -t nat -F "$ch"; iptables -t nat -X "$ch"
		fi
	done
	return 0
}
cleanup_all() {
	stop_containerd; berth_cleanup; nat_cleanup
	iptables-save | grep -E "10\.21[67]\.0\.|$CNETNAME|$NETNAME" >&2 && echo "WARNING: iptables rules of these networks remain" >&2
	remove_work
}

start_containerd() {
	mkdir -p "$CTD/certs.d"
	write_conflist "$CTD/net.d" "$CNETNAME" "$CBRIDGE" "$CSUBNET" "$CTD/ipam"
	for h in registry.k8s.io gcr.io docker.io; do
		mkdir -p "$CTD/certs.d/$h"
		printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG" "$REG" >"$CTD/certs.d/$h/hosts.toml"
	done
	# The anchor's config with its /tmp/cri-anchor paths moved under $CTD.
	sed -e "s|/tmp/cri-anchor/containerd.sock|$CTDSOCK|g" -e "s|/tmp/cri-anchor|$CTD|g" "$ANCHOR/containerd.toml" >"$CTD/containerd.toml"
	/usr/bin/containerd --config "$CTD/containerd.toml" >"$CTD/containerd.log" 2>&1 &
	echo $! >"$CTD/containerd.pid"
	for _ in $(seq 1 300); do [ -S "$CTDSOCK" ] && break; sleep 0.1; done
	"$CRICTL" -r "unix://$CTDSOCK" -i "unix://$CTDSOCK" --timeout 30s version >/dev/null 2>&1 || { echo "containerd did not start" >&2; tail "$CTD/containerd.log" >&2; return 1; }
}

bench_params() { # the anchor's params file with sample counts scaled
	local n=${BENCH_CRI_SAMPLES:-50} ni
	ni=$(((n * 2 + 4) / 5)); [ "$ni" -lt 4 ] && ni=4
	sed -e "s/^containersNumber: .*/containersNumber: $n/" -e "s/^podsNumber: .*/podsNumber: $n/" \
		-e "s/^imagesNumber: .*/imagesNumber: $ni/" "$ANCHOR/benchmark-params.yaml" >"$WORK/benchmark-params.yaml"
}

run_side() { # run_side NAME ENDPOINT
	local out=$WORK/report/$1 t0 rc
	mkdir -p "$out/bench"
	t0=$(date +%s)
	if [ "$BENCH" = 1 ]; then
		run_critest "$2" "$out" -benchmark -benchmarking-params-file "$WORK/benchmark-params.yaml" \
			-benchmarking-output-dir "$out/bench" -ginkgo.junit-report "$out/junit.xml" "$@"
	else
		run_critest "$2" "$out" -ginkgo.junit-report "$out/junit.xml" "$@"
	fi
	rc=$?
	rm -f "$out/ipcs-before.txt"
	echo "$1: critest rc=$rc wall=$(($(date +%s) - t0))s load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/summary.txt"
}

rm -rf "$WORK"; mkdir -p "$WORK/tmp" "$WORK/report"; echo "{}" >"$WORK/daemon.json"
trap cleanup_all EXIT
trap '[ -n "$CRITEST_PID" ] && kill "$CRITEST_PID" 2>/dev/null; exit 130' INT TERM
echo "building the stand-in images into a local registry ($REG) ..."
start_registry_and_images || exit 1
bench_params
shift_args=("$@")
if [ "$ONLY" != berthd ]; then
	echo "containerd: $(/usr/bin/containerd --version) ..."
	start_containerd || exit 1
	run_side containerd "$CTDSOCK" "${shift_args[@]}"
	cp "$CTD/containerd.log" "$WORK/report/containerd/daemon.log"
	stop_containerd
fi
if [ "$ONLY" != containerd ]; then
	echo "berthd $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) ..."
	start_cri_berthd || exit 1
	run_side berthd "$WORK/cri.sock" "${shift_args[@]}"
	cp "$WORK/cri.log" "$WORK/report/berthd/daemon.log"
	stop_cri_berthd
fi
[ "$BENCH" = 1 ] || node "$HERE/critest-table.mjs" "$WORK/report/containerd/junit.xml" "$WORK/report/berthd/junit.xml" | tee "$WORK/report/table.md"
exit 0
