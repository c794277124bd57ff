#!/usr/bin/env bash
# Builds a small test image FROM scratch with busybox-static (no internet needed): scripts/test-image.sh TAG [TEXT]
# TEXT changes a file in the image, so different TEXT gives a different image.
set -euo pipefail
tag=${1:?usage: test-image.sh TAG [TEXT]}
text=${2:-hello from docker-sign}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp /bin/busybox "$ctx/busybox"
printf '%s\n' "$text" > "$ctx/message.txt"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
COPY message.txt /message.txt
CMD ["/bin/busybox", "cat", "/message.txt"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>/dev/null
