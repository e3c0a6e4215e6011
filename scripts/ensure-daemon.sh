#!/usr/bin/env bash
# Starts berthd in the background when nothing answers on the default socket,
# then makes sure busybox:latest exists.
set -euo pipefail
cd "$(dirname "$0")/.."
sock=/run/berth.sock
if ! curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
  mkdir -p /var/log
  echo "starting berthd (log: /var/log/berthd.log)"
  nohup bin/berthd >>/var/log/berthd.log 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null || { echo "berthd did not start; see /var/log/berthd.log" >&2; tail -20 /var/log/berthd.log >&2; exit 1; }
fi
if ! bin/berth image inspect busybox:latest >/dev/null 2>&1; then
  bin/berth image bootstrap busybox
fi
