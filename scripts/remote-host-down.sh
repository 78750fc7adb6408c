#!/usr/bin/env bash
# Takes down what scripts/remote-host-up.sh brought up: its sshd, its dockerd (whose
# containers, hln-buildkitd included, stop with it, and whose managed containerd exits with
# it), the network namespace hln-remote and the veth pair hln-r0/hln-r1. Keeps everything
# under /opt/hln-engine/remote (images, keys, configs), so the next remote-host-up.sh is
# quick. Never touches the main engine or the host's docker0. Idempotent; needs root.
#
# Environment:
#   HLN_ENGINE_ROOT   where the engines live (default /opt/hln-engine)
#   HLN_REMOTE_SOCK   the remote engine's API socket (default /var/run/hln-remote.sock)
set -euo pipefail

ROOT=${HLN_ENGINE_ROOT:-/opt/hln-engine}
SOCK=${HLN_REMOTE_SOCK:-/var/run/hln-remote.sock}
R="$ROOT/remote"
NS=hln-remote
NS_PATH=/var/run/netns/$NS
HOST_IF=hln-r0

log() { printf '[remote-host-down] %s\n' "$*" >&2; }
die() { printf '[remote-host-down] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root"

# stop_pidfile NAME PIDFILE COMM SECONDS: TERM the process named COMM from PIDFILE, wait.
stop_pidfile() {
  local name=$1 file=$2 comm=$3 secs=$4 pid
  pid=$(cat "$file" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    log "$name is not running"
    return 0
  fi
  grep -qx "$comm" "/proc/$pid/comm" 2>/dev/null || { log "pid $pid in $file is not $comm; leaving it alone"; return 0; }
  log "stopping $name (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 $((secs * 5))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  die "$name (pid $pid) did not exit within $secs s"
}

stop_pidfile sshd "$R/ssh/sshd.pid" sshd 10
stop_pidfile dockerd "$R/dockerd.pid" dockerd 60
rm -f "$R/ssh/sshd.pid"

if [ -e "$NS_PATH" ]; then
  # Container shims exit just after dockerd; give them a moment before the namespace goes.
  for _ in $(seq 1 25); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.2; done
  left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ')
  [ -z "$left" ] || log "warning: processes still in $NS (they keep it alive unnamed): $left"
  log "deleting network namespace $NS"
  ip netns del "$NS"
fi
if ip link show "$HOST_IF" >/dev/null 2>&1; then
  log "deleting veth $HOST_IF"
  ip link del "$HOST_IF"
fi
if [ -S "$SOCK" ] && ! curl -fsS --max-time 2 --unix-socket "$SOCK" http://docker/_ping >/dev/null 2>&1; then
  rm -f "$SOCK"
fi
log "remote host down (data kept in $R)"
