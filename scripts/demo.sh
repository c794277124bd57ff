#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian 12 machine (as root):
#   installs what is missing, starts a dockerd and a registry (Distribution 2.8, no Referrers API) of its own,
#   installs `docker sign` / `docker generate` as Docker CLI plug-ins (in a demo DOCKER_CONFIG, your ~/.docker is
#   not touched), makes a test signing key + trust policy, builds an image, then:
#     docker generate manifest → docker sign (local, before push) → docker sign push → docker sign verify
#   and turns on the guard (dockerd authorization plug-in): `docker run` of the signed image is allowed, of an
#   unsigned image and of a tag moved to an unsigned image is denied by the engine.
# Everything lives under $DEMO_DIR (default /tmp/docker-sign-demo); the demo's dockerd, guard and registry are
# stopped at the end (DEMO_KEEP=1 keeps them running).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DEMO_DIR=${DEMO_DIR:-/tmp/docker-sign-demo}
PORT=${DEMO_REGISTRY_PORT:-5100}
REG=localhost:$PORT
GUARD=docker-sign-demo

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
expect_fail() { printf '$ %s\n' "$*"; if "$@"; then echo "!! expected this to be refused"; exit 1; else echo "   (refused, as it should be: exit $?)"; fi; }

bold "Installing what is missing (apt, npm) and building"
bash scripts/prepare.sh

bold "Starting dockerd and a registry under $DEMO_DIR"
export DS_SERVICES_DIR=$DEMO_DIR DS_REGISTRY_PORT=$PORT
cleanup() {
  [ "${DEMO_KEEP:-0}" = 1 ] && { echo "(DEMO_KEEP=1: services left running; stop with DS_SERVICES_DIR=$DEMO_DIR bash scripts/services.sh stop)"; return; }
  [ -n "${GUARD_PID:-}" ] && kill "$GUARD_PID" 2>/dev/null || true
  bash scripts/services.sh stop dockerd registry >/dev/null 2>&1 || true
}
trap cleanup EXIT
# a clean daemon.json: the guard is turned on later with SIGHUP
mkdir -p "$DEMO_DIR/dockerd"; echo '{}' > "$DEMO_DIR/dockerd/daemon.json"
bash scripts/services.sh start dockerd registry
eval "$(bash scripts/services.sh env)"
export DOCKER_CONFIG=$DEMO_DIR/docker-config DOCKER_SIGN_CONFIG=$DEMO_DIR/config
rm -rf "$DOCKER_SIGN_CONFIG" "$DOCKER_CONFIG"; mkdir -p "$DOCKER_CONFIG"

bold "Installing the Docker CLI plug-ins"
run node bin/docker-sign.js install
printf '$ docker --help | grep -E "sign|generate"\n'; docker --help | grep -E '^  (sign|generate)\*' || { echo "!! docker does not list the plug-ins"; exit 1; }

bold "A test signing key (self-signed root + code-signing leaf) and a trust policy that requires it"
run docker sign key generate wabbit-networks --type ec-p256 --subject "C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer" --default --trust
run docker sign policy init --scope '*' --store ca:wabbit-networks --identity "x509.subject: C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer"

bold "Build an image, generate its manifest (digest known before push), sign it locally, push it"
bash scripts/test-image.sh "$REG/demo/hello:1" "hello from a signed image" >/dev/null
run docker generate manifest "$REG/demo/hello:1"
run docker sign "$REG/demo/hello:1"
run docker sign push "$REG/demo/hello:1"
DIGEST=$(docker sign push -q -o json "$REG/demo/hello:1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).digest))')
run docker sign ls "$REG/demo/hello:1"
run docker sign verify "$REG/demo/hello:1"
run docker sign store ls

bold "An unsigned image, pushed with plain docker push"
bash scripts/test-image.sh "$REG/demo/unsigned:1" "nobody signed me" >/dev/null
docker push -q "$REG/demo/unsigned:1" >/dev/null
expect_fail docker sign verify "$REG/demo/unsigned:1"

bold "Turning on the guard (dockerd authorization plug-in)"
node bin/docker-sign.js guard serve --name "$GUARD" --docker-host "$DOCKER_HOST" > "$DEMO_DIR/guard.log" 2>&1 &
GUARD_PID=$!
for _ in $(seq 1 50); do [ -S "/run/docker/plugins/$GUARD.sock" ] && break; sleep 0.1; done
run docker sign guard install --name "$GUARD" --daemon-json "$DEMO_DIR/dockerd/daemon.json" --reload --pidfile "$DEMO_DIR/dockerd/pid"
sleep 1
run docker sign guard status --daemon-json "$DEMO_DIR/dockerd/daemon.json"

bold "The engine now runs only what satisfies the trust policy"
docker rmi -f "$REG/demo/hello:1" "$REG/demo/unsigned:1" >/dev/null 2>&1 || true
run docker run --rm "$REG/demo/hello@$DIGEST"
run docker run --rm "$REG/demo/hello:1"
expect_fail docker pull "$REG/demo/unsigned:1"
expect_fail docker run --rm "$REG/demo/unsigned:1"
bash scripts/test-image.sh "local/unsigned:1" "built here, never signed" >/dev/null
expect_fail docker run --rm local/unsigned:1

bold "Tampering: the signed tag is moved to another image"
docker rmi -f "$REG/demo/hello:1" >/dev/null 2>&1 || true
# (docker build/tag/push are not gated by the guard; only pulls and container creation are)
bash scripts/test-image.sh "$REG/demo/hello:1" "an impostor" >/dev/null
docker push -q "$REG/demo/hello:1" >/dev/null
docker rmi -f "$REG/demo/hello:1" >/dev/null 2>&1 || true
expect_fail docker run --rm "$REG/demo/hello:1"
run docker run --rm "$REG/demo/hello@$DIGEST"

bold "Audit log (last decisions)"
tail -n 5 "$DOCKER_SIGN_CONFIG/guard/audit.log" 2>/dev/null || true

bold "Done"
echo "signed $REG/demo/hello@$DIGEST; allowed: the signed image; denied: the unsigned image, a locally built unsigned image, the moved tag."
