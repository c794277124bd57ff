#!/usr/bin/env bash
# Starts (or stops / reports) the real parts docker-sign is tested against, on loopback only, idempotently:
#   dockerd            unix:///tmp/docker-sign/dockerd/docker.sock   (data under /tmp/docker-sign/dockerd)
#   registry           127.0.0.1:5000  Distribution 2.8 (docker-registry), delete enabled, no Referrers API
#   registry (auth)    127.0.0.1:5002  Distribution 2.8 with htpasswd basic auth (user: tester / pass: testpass)
#   registry (refs)    127.0.0.1:5001  go-containerregistry's registry with the Referrers API
# Usage: scripts/services.sh start|stop|status|env  [dockerd|registry|registry-auth|registry-refs ...]
# `env` prints the variables tests use (DOCKER_HOST, DS_REGISTRY, DS_REFERRERS_REGISTRY, DS_AUTH_REGISTRY, …).
# Override the base dir with DS_SERVICES_DIR and ports with DS_REGISTRY_PORT / DS_REFS_PORT / DS_AUTH_PORT.
set -euo pipefail

BASE=${DS_SERVICES_DIR:-/tmp/docker-sign}
REG_PORT=${DS_REGISTRY_PORT:-5000}
REFS_PORT=${DS_REFS_PORT:-5001}
AUTH_PORT=${DS_AUTH_PORT:-5002}
DOCKER_SOCK=$BASE/dockerd/docker.sock
HERE=$(cd "$(dirname "$0")" && pwd)

log() { echo "services: $*" >&2; }

wait_for() { # wait_for <description> <command…>
  local what=$1; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "timed out waiting for $what"; return 1
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

http_ok() { curl -fsS -o /dev/null "$1"; }

start_dockerd() {
  mkdir -p "$BASE/dockerd"
  if pid_alive "$BASE/dockerd/pid" && [ -S "$DOCKER_SOCK" ]; then log "dockerd already running"; return 0; fi
  local extra=()
  [ -f "$BASE/dockerd/daemon.json" ] || echo '{}' > "$BASE/dockerd/daemon.json"
  # --config-file lets the guard be enabled later with daemon.json + SIGHUP, without a restart.
  nohup dockerd --data-root "$BASE/dockerd/data" --host "unix://$DOCKER_SOCK" --pidfile "$BASE/dockerd/pid" \
    --exec-root "$BASE/dockerd/exec" --bridge=none --iptables=false --ip-masq=false \
    --config-file "$BASE/dockerd/daemon.json" ${DS_DOCKERD_ARGS:-} "${extra[@]}" \
    > "$BASE/dockerd/dockerd.log" 2>&1 &
  wait_for dockerd curl -fsS --unix-socket "$DOCKER_SOCK" http://d/_ping
  log "dockerd up (unix://$DOCKER_SOCK)"
}

registry_config() { # registry_config <dir> <port> [htpasswd]
  local dir=$1 port=$2 auth=${3:-}
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $dir/data}"
    echo "  delete: {enabled: true}"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: docker-sign-test-secret"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd: {realm: docker-sign-test, path: $auth}"
    fi
  } > "$dir/config.yml"
}

start_distribution() { # start_distribution <name> <port> [auth]
  local name=$1 port=$2 auth=${3:-}
  local dir=$BASE/$name
  if pid_alive "$dir/pid" && http_code "http://127.0.0.1:$port/v2/" >/dev/null; then log "$name already running"; return 0; fi
  mkdir -p "$dir"
  local htp=""
  if [ -n "$auth" ]; then
    htp=$dir/htpasswd
    htpasswd -Bbc "$htp" tester testpass >/dev/null 2>&1
  fi
  registry_config "$dir" "$port" "$htp"
  nohup docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/pid"
  wait_for "$name" http_code "http://127.0.0.1:$port/v2/"
  log "$name up (127.0.0.1:$port)"
}

http_code() { # succeeds when the server answers at all (200 or 401)
  local c; c=$(curl -s -o /dev/null -w '%{http_code}' "$1") || return 1
  [ "$c" = 200 ] || [ "$c" = 401 ]
}

start_refs_registry() {
  local dir=$BASE/registry-refs
  if pid_alive "$dir/pid" && http_code "http://127.0.0.1:$REFS_PORT/v2/"; then log "registry-refs already running"; return 0; fi
  mkdir -p "$dir"
  if [ ! -x "$dir/gcr-registry" ] || [ "$HERE/gcr-registry/main.go" -nt "$dir/gcr-registry" ]; then
    log "building go-containerregistry registry (Referrers API)"
    (cd "$HERE/gcr-registry" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$BASE/gocache" GOFLAGS=-mod=mod \
      go build -o "$dir/gcr-registry" main.go)
  fi
  nohup "$dir/gcr-registry" "127.0.0.1:$REFS_PORT" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/pid"
  wait_for registry-refs http_code "http://127.0.0.1:$REFS_PORT/v2/"
  log "registry-refs up (127.0.0.1:$REFS_PORT, Referrers API)"
}

stop_one() { # stop_one <pidfile>
  if pid_alive "$1"; then
    local p; p=$(cat "$1")
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$1"
}

unmount_under() { # unmount_under <dir>: what a stopped (or killed) dockerd left mounted there, deepest first
  local m
  for m in $(awk -v d="$1" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo 2>/dev/null | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

print_env() {
  echo "export DOCKER_HOST=unix://$DOCKER_SOCK"
  echo "export DS_DOCKER_SOCK=$DOCKER_SOCK"
  echo "export DS_DOCKERD_DIR=$BASE/dockerd"
  echo "export DS_REGISTRY=127.0.0.1:$REG_PORT"
  echo "export DS_REFERRERS_REGISTRY=127.0.0.1:$REFS_PORT"
  echo "export DS_AUTH_REGISTRY=127.0.0.1:$AUTH_PORT"
  echo "export DS_AUTH_USER=tester"
  echo "export DS_AUTH_PASS=testpass"
  echo "export DS_REGISTRY_DATA=$BASE/registry/data"
}

cmd=${1:-start}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(dockerd registry registry-auth registry-refs)
case "$cmd" in
  start)
    for t in "${targets[@]}"; do
      case "$t" in
        dockerd) start_dockerd ;;
        registry) start_distribution registry "$REG_PORT" ;;
        registry-auth) start_distribution registry-auth "$AUTH_PORT" auth ;;
        registry-refs) start_refs_registry ;;
        *) log "unknown service $t"; exit 2 ;;
      esac
    done ;;
  stop)
    for t in "${targets[@]}"; do
      case "$t" in
        dockerd) stop_one "$BASE/dockerd/pid"; unmount_under "$BASE/dockerd" ;;
        registry|registry-auth|registry-refs) stop_one "$BASE/$t/pid" ;;
      esac
    done ;;
  status)
    for t in dockerd registry registry-auth registry-refs; do
      pf=$BASE/$t/pid; if pid_alive "$pf"; then echo "$t running (pid $(cat "$pf"))"; else echo "$t stopped"; fi
    done ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env [service…]" >&2; exit 2 ;;
esac
