#!/usr/bin/env bash
# A second Docker engine with the classic image store, for tests of that mode: with it
# BuildKit has only the moby, local and tar exporters. Same Docker 26 binaries as
# scripts/engine-up.sh (run that first), its own socket, roots and bridge, so it never
# touches the main engine. Idempotent; needs root.
#
# Not "bridge": "none": a dockerd started that way deletes the host's docker0, which
# belongs to the main engine, and every networked build step there then fails.
#
#   HLN_CLASSIC_SOCK   its Docker API socket (default /var/run/hln-classic.sock)
set -euo pipefail
# shellcheck source=lib/engine.sh
. "$(dirname "$0")/lib/engine.sh"

ROOT=${HLN_ENGINE_ROOT:-/opt/hln-engine}
SOCK=${HLN_CLASSIC_SOCK:-/var/run/hln-classic.sock}
STATE="$ROOT/classic"
SBIN="$ROOT/docker/usr/sbin"
BIN="$ROOT/docker/usr/bin"
LOG="$STATE/dockerd.log"
# Its own bridge, with no route out: tests on this engine run steps without a network.
BRIDGE=hln-classic0
BRIDGE_ADDR=10.199.0.1/24

log() { printf '[engine-classic-up] %s\n' "$*" >&2; }
die() { printf '[engine-classic-up] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$SBIN/dockerd" ] || die "no dockerd in $SBIN: run scripts/engine-up.sh first"
mkdir -p "$STATE"
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
fi

cat >"$STATE/daemon.json" <<JSON
{
  "features": { "containerd-snapshotter": false },
  "data-root": "$STATE/data",
  "exec-root": "$STATE/exec",
  "pidfile": "$STATE/dockerd.pid",
  "hosts": ["unix://$SOCK"],
  "bridge": "$BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "log-level": "warn"
}
JSON

export PATH="$SBIN:$BIN:$PATH"

if dockerd_answers "$SOCK"; then
  log "already answers on $SOCK"
else
  if [ -f "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
    kill "$(cat "$STATE/dockerd.pid")" || true
    sleep 2
  fi
  rm -f "$SOCK"
  log "starting a classic-store dockerd on $SOCK (log: $LOG)"
  setsid nohup "$SBIN/dockerd" --config-file "$STATE/daemon.json" >>"$LOG" 2>&1 </dev/null &
  wait_for_dockerd "$SOCK" "$LOG" || die "dockerd did not answer on $SOCK within 60 s"
fi

api() { curl -fsS --unix-socket "$SOCK" "$@"; }
if ! has_image "$SOCK" busybox:latest; then
  log "seeding busybox:latest"
  seed_busybox "$SOCK"
fi
api http://docker/info | grep -q '"driver-type","io.containerd.snapshotter' && die "$SOCK uses the containerd store, expected classic"
log "classic engine ready: DOCKER_HOST=unix://$SOCK"
