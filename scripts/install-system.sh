#!/usr/bin/env bash
# Installs the real parts docker-sign is tested against (Debian 12, as root), only what is missing.
# Idempotent: a second run installs nothing and is quick.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
[ -x /bin/busybox ] && /bin/busybox --help 2>&1 | head -1 | grep -q . && file_ok=1 || file_ok=0
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
# DOCKER_HOST=ssh://… goes through the ssh client, as docker does; the tests run their own sshd on loopback
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)

# go-containerregistry's registry (the Referrers API registry) comes from bookworm-backports.
gcr_dir=/usr/share/gocode/src/github.com/google/go-containerregistry/pkg/registry
if [ ! -d "$gcr_dir" ] || ! command -v go >/dev/null 2>&1; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(grep -rhs '^URIs:.*debian$' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
    [ -n "$uri" ] || uri=$(grep -rhs '^deb .*debian.* bookworm ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    cat > /etc/apt/sources.list.d/bookworm-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  need+=(golang-go golang-github-google-go-containerregistry-dev)
fi
# golang.org/x/crypto (ocsp) for scripts/go-parse, the Go parsers the parity tests compare with (a dependency of the
# gcr library, named here so it is there whatever that package pulls in)
[ -d /usr/share/gocode/src/golang.org/x/crypto/ocsp ] || need+=(golang-golang-x-crypto-dev)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-system: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # golang-go from bookworm is fine; the gcr library needs backports.
  # no service may start on its own while we install (openssh-server would start a system sshd): policy-rc.d says no
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq -o Dpkg::Use-Pty=0 "${need[@]/golang-github-google-go-containerregistry-dev/golang-github-google-go-containerregistry-dev/bookworm-backports}" >/dev/null
fi
echo "install-system: ok"
