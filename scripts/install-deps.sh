#!/usr/bin/env bash
# Installs what Berth needs on Debian 12 when it is missing: system packages through apt,
# npm packages through npm ci. Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have runc      || need+=(runc)
have conmon    || need+=(conmon)
have iptables  || need+=(iptables)
have ip        || need+=(iproute2)
have nsenter   || need+=(util-linux)
# CRI port forwarding: `nsenter --net=<pod netns> socat - TCP4:127.0.0.1:<port>` (src/cri/streaming/berthruntime.ts)
have socat     || need+=(socat)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ -x /usr/bin/tini-static ] || need+=(tini)
have mount     || need+=(mount)
have curl      || need+=(curl)
have openssl   || need+=(openssl)
have script    || need+=(bsdutils)
have zstd      || need+=(zstd)
# `docker load` of bzip2 and xz archives (and such layers): the tools are spawned as streams
have bzip2     || need+=(bzip2)
have xz        || need+=(xz-utils)
# `berth image bootstrap debian:SUITE`
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
# For the test suite: real registry clients and servers to interoperate with.
have skopeo    || need+=(skopeo)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
have htpasswd  || need+=(apache2-utils)
# docker-py (Debian's python3-docker): its volume, attach and exec calls run unchanged against berthd.
python3 -c 'import docker' >/dev/null 2>&1 || need+=(python3-docker)
# Real clients the suite runs unchanged: docker-py's own integration suite (pytest and its imports),
# Debian's docker-compose 1.29, and Debian's dockerd (docker.io) as the reference to compare with.
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || need+=(python3-pytest)
/usr/bin/python3 -c 'import requests, paramiko, websocket' >/dev/null 2>&1 || need+=(python3-requests python3-paramiko python3-websocket)
have docker-compose || need+=(docker-compose)
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
# BuildKit's --ssh forwarding is tested with a real ssh-agent and ssh-add.
{ [ -x /usr/bin/ssh-agent ] && [ -x /usr/bin/ssh-add ]; } || need+=(openssh-client)
# The CRI server (docs/cri.md): catatonit is every pod's infra process; CNI's plugins network pods.
[ -x /usr/bin/catatonit ] || need+=(catatonit)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
# critest's stand-in nonewprivs image: its nnp program is built with gcc (test/cri/build-images.sh).
have gcc       || need+=(gcc libc6-dev)
# berth-web's browser tests: Debian's headless Chromium, driven by playwright-core from npm.
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  # de-duplicate
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "installing Debian packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages"
  # `npm install` rather than `npm ci`: npm 11's ci refuses a lock that lacks node-unix-socket's
  # prebuilt binaries for other platforms, which npm never records here. The lock still pins
  # every version, and install leaves it unchanged.
  npm install --no-audit --no-fund --loglevel=error
fi
