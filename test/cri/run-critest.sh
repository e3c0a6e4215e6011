#!/bin/bash
# critest v1.26.1 against a fresh berthd, as the anchor ran it against containerd
# (/work/shared/cri-anchor/REPRODUCE.md §4): the stand-in images are built by a first berthd
# (test/cri/build-images.sh) into a berth-registry that registry.k8s.io, gcr.io and docker.io are
# mirrored to, then critest runs against a second berthd on fresh roots with its own CNI conflist
# (bridge bcric1, 10.207.0.128/25: test/cri.test.ts has bcric0 and the lower half, so the two can
# run side by side). Everything lives under $WORK and is removed at the end
# (KEEP=1 keeps the report). Prints the pass count; the report is $WORK/report/.
# The shared parts are in common.sh (compare-critest.sh uses them too).
# usage: test/cri/run-critest.sh [extra critest flags]
set -uo pipefail
WORK=${WORK:-/tmp/berth-critest}
BRIDGE=bcric1
SUBNET=10.207.0.128/25
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
rm -rf "$WORK"; mkdir -p "$WORK/tmp" "$WORK/report"; echo "{}" >"$WORK/daemon.json"
trap 'berth_cleanup; remove_work' EXIT

start_registry_and_images || exit 1
start_cri_berthd || exit 1
run_critest "$WORK/cri.sock" "$WORK/report" -ginkgo.junit-report "$WORK/report/junit.xml" "$@"
rc=$?
rm -f "$WORK/report/ipcs-before.txt"
grep -E "^Ran |Passed \|" "$WORK/report/critest.log"
grep -E "^\s+\[FAIL\]" "$WORK/report/critest.log" | sort -u
cp "$WORK/cri.log" "$WORK/report/berthd.log"
exit $rc
