#!/bin/bash
# Builds critest's stand-in images (the anchor's Dockerfiles in $ANCHOR/images, see
# /work/shared/cri-anchor/REPRODUCE.md §2) with `berth build` against a berthd and pushes them to
# a local registry under the repository paths critest v1.26.1 uses; the daemon is then run with
# --cri-registry-mirror {registry.k8s.io,gcr.io,docker.io}=http://$REG.
# Differences from the anchor's build-and-push.sh: Berth's CLI instead of docker's, and the
# nonewprivs `nnp` built from nnp.c (same output, gcc -static) as this machine has no Go.
# usage: DOCKER_HOST=unix:///... REG=127.0.0.1:PORT BUILD=/tmp/dir test/cri/build-images.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BERTH=${BERTH:-$HERE/../../bin/berth}
ANCHOR=${ANCHOR:-/work/shared/cri-anchor/setup}
IMG=$ANCHOR/images
REG=${REG:?REG=host:port of the registry}
BUILD=${BUILD:?BUILD=work directory}
mkdir -p "$BUILD"

push() { # push LOCALTAG REMOTEPATH
	"$BERTH" tag "$1" "$REG/$2"
	"$BERTH" push "$REG/$2" >/dev/null
	"$BERTH" rmi "$REG/$2" >/dev/null
}
build() { # build CONTEXT LOCALTAG [build args...]
	local ctx=$1 tag=$2; shift 2
	"$BERTH" build -q -t "$tag" "$@" "$ctx" >/dev/null
}

# 0. busybox base: the anchor's mkrootfs.sh with `docker import` done by berth
mkdir -p "$BUILD/shim"
printf '#!/bin/sh\nexec %s "$@"\n' "$BERTH" > "$BUILD/shim/docker"; chmod +x "$BUILD/shim/docker"
PATH="$BUILD/shim:$PATH" "$IMG/base/mkrootfs.sh" "$BUILD/base" >/dev/null

build "$IMG/busybox" cri5/e2e-test-images/busybox:1.29-2
push cri5/e2e-test-images/busybox:1.29-2 e2e-test-images/busybox:1.29-2
build "$IMG/nginx" cri5/e2e-test-images/nginx:1.14-2
push cri5/e2e-test-images/nginx:1.14-2 e2e-test-images/nginx:1.14-2
build "$IMG/httpd" cri5/e2e-test-images/httpd:2.4.39-4
push cri5/e2e-test-images/httpd:2.4.39-4 e2e-test-images/httpd:2.4.39-4

rm -rf "$BUILD/nonewprivs"; mkdir -p "$BUILD/nonewprivs"
cp "$IMG/nonewprivs/Dockerfile" "$BUILD/nonewprivs/"
gcc -static -O2 -o "$BUILD/nonewprivs/nnp" "$HERE/nnp.c"
build "$BUILD/nonewprivs" cri5/e2e-test-images/nonewprivs:1.3
push cri5/e2e-test-images/nonewprivs:1.3 e2e-test-images/nonewprivs:1.3

build "$IMG/hostnet-nginx" cri5/k8s-staging-cri-tools/hostnet-nginx-amd64:latest
push cri5/k8s-staging-cri-tools/hostnet-nginx-amd64:latest k8s-staging-cri-tools/hostnet-nginx-amd64:latest
for pair in test-image-user-uid=1002 test-image-user-username=www-data test-image-user-uid-group=1003:1004 test-image-user-username-group=www-data:1004; do
	name=${pair%%=*}; user=${pair#*=}
	build "$IMG/image-user" "cri5/k8s-staging-cri-tools/$name:latest" --build-arg "USER=$user"
	push "cri5/k8s-staging-cri-tools/$name:latest" "k8s-staging-cri-tools/$name:latest"
done
build "$IMG/image-predefined-group" cri5/k8s-staging-cri-tools/test-image-predefined-group:latest
push cri5/k8s-staging-cri-tools/test-image-predefined-group:latest k8s-staging-cri-tools/test-image-predefined-group:latest

testimg() { # testimg FILE-NAME LOCALTAG
	rm -rf "$BUILD/image-test"; mkdir -p "$BUILD/image-test"
	cp "$IMG/image-test/Dockerfile" "$BUILD/image-test/"
	touch "$BUILD/image-test/$1"
	build "$BUILD/image-test" "$2" --build-arg "TEST=$1"
}
for name in test-image-1 test-image-2 test-image-3 test-image-latest; do
	testimg "$name" "cri5/k8s-staging-cri-tools/$name:latest"
	push "cri5/k8s-staging-cri-tools/$name:latest" "k8s-staging-cri-tools/$name:latest"
done
testimg same-image cri5/k8s-staging-cri-tools/test-image-tags:1
for t in 1 2 3; do push cri5/k8s-staging-cri-tools/test-image-tags:1 "k8s-staging-cri-tools/test-image-tags:$t"; done
for t in test all; do
	testimg "$t" "cri5/k8s-staging-cri-tools/test-image-tag:$t"
	push "cri5/k8s-staging-cri-tools/test-image-tag:$t" "k8s-staging-cri-tools/test-image-tag:$t"
done
# test-image-digest@sha256:9700f9a2... cannot be reproduced (an upstream manifest list's digest).

rm -rf "$BUILD/pause"; mkdir -p "$BUILD/pause/x"
cp "$IMG/pause/Dockerfile" "$BUILD/pause/"
dpkg-deb -x "$IMG/pause/catatonit_0.1.7-1+b2_amd64.deb" "$BUILD/pause/x"
cp "$BUILD/pause/x/usr/bin/catatonit" "$BUILD/pause/catatonit"
build "$BUILD/pause" cri5/pause:3.6
push cri5/pause:3.6 pause:3.6
# The local cri5/* tags are left for the caller (its daemon is thrown away with its root).
echo "images pushed to $REG"
