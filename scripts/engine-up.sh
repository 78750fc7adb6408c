#!/usr/bin/env bash
# Brings up hln's development and CI engine on Debian 12, idempotently:
#   Docker 26.1.5 (Debian 13's docker.io .deb, unpacked with dpkg -x) on /var/run/docker.sock
#   with the containerd image store, plus buildx 0.13.1 and compose 2 as the benchmark peers
#   (Debian 13's docker-buildx and docker-compose .debs), plus the
#   offline base images debian:bookworm-slim (mmdebstrap) and busybox (busybox-static).
# Needs root. Safe to run again: every step checks before it acts.
#
# Environment:
#   HLN_ENGINE_ROOT   where the engine lives (default /opt/hln-engine)
#   HLN_ENGINE_SOCK   the Docker API socket it serves (default /var/run/docker.sock)
set -euo pipefail
# shellcheck source=lib/engine.sh
. "$(dirname "$0")/lib/engine.sh"

ROOT=${HLN_ENGINE_ROOT:-/opt/hln-engine}
SOCK=${HLN_ENGINE_SOCK:-/var/run/docker.sock}
MIRROR=${HLN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER_VERSION=26.1.5
BIN="$ROOT/docker/usr/bin"
SBIN="$ROOT/docker/usr/sbin"
STATE="$ROOT/state"
LOG="$ROOT/dockerd.log"

log() { printf '[engine-up] %s\n' "$*" >&2; }
die() { printf '[engine-up] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it installs packages and starts dockerd)"
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || log "warning: written for Debian 12 (bookworm); continuing"

mkdir -p "$ROOT" "$STATE"

# 1. Debian 12 packages the engine runs on, and the tools that seed images.
need=()
for pkg in containerd runc tini iptables mmdebstrap busybox-static ca-certificates; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. Docker 26, buildx and compose from Debian 13, through an apt state of our own so the
#    system's sources stay Debian 12.
APT="$ROOT/apt"
# Downloads the named trixie packages' .debs into $APT/debs.
fetch_trixie() {
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
  echo "deb $MIRROR trixie main" >"$APT/sources.list"
  local aptopts=(-o "Dir::State=$APT" -o "Dir::State::status=/var/lib/dpkg/status" -o "Dir::Cache=$APT/cache"
    -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null" -o "APT::Get::List-Cleanup=0")
  apt-get "${aptopts[@]}" update -qq
  (cd "$APT/debs" && apt-get "${aptopts[@]}" download "$@")
}
if [ ! -x "$SBIN/dockerd" ] || ! "$SBIN/dockerd" --version | grep -q "$DOCKER_VERSION"; then
  log "fetching docker.io $DOCKER_VERSION, docker-buildx and docker-compose from trixie"
  fetch_trixie docker.io docker-cli docker-buildx docker-compose
  rm -rf "$ROOT/docker"
  for deb in "$APT"/debs/*.deb; do dpkg -x "$deb" "$ROOT/docker"; done
  "$SBIN/dockerd" --version | grep -q "$DOCKER_VERSION" || die "unpacked dockerd is not $DOCKER_VERSION"
fi

# The compose v2 plugin, the peer of `hln up` in bench/up-vs-compose.ts. Checked on its
# own: an engine unpacked by an earlier version of this script has no compose.
PLUGINS="$ROOT/docker/usr/libexec/docker/cli-plugins"
if [ ! -x "$PLUGINS/docker-compose" ]; then
  debs=("$APT"/debs/docker-compose_*.deb)
  if [ ! -e "${debs[0]}" ]; then
    log "fetching docker-compose from trixie"
    fetch_trixie docker-compose
    debs=("$APT"/debs/docker-compose_*.deb)
  fi
  dpkg -x "${debs[0]}" "$ROOT/docker"
  [ -x "$PLUGINS/docker-compose" ] || die "docker-compose .deb has no $PLUGINS/docker-compose"
fi

# The buildx and compose plugins where the docker CLI looks for them; the CLI itself from
# the same release.
mkdir -p /root/.docker/cli-plugins /usr/local/lib/docker/cli-plugins
for p in "$PLUGINS"/docker-buildx "$PLUGINS"/docker-compose; do
  [ -e "$p" ] && ln -sf "$p" "/usr/local/lib/docker/cli-plugins/$(basename "$p")"
done

# 3. The daemon. The containerd image store is the default of current Docker and
#    enables every BuildKit exporter.
#    insecure-registries: the swarm tests' plain-HTTP registry listens on the remote
#    host's veth (10.201.0.1, scripts/remote-host-up.sh), where both engines pull from it.
cat >"$ROOT/daemon.json.new" <<JSON
{
  "features": { "containerd-snapshotter": true },
  "data-root": "$STATE/data",
  "exec-root": "$STATE/exec",
  "pidfile": "$STATE/dockerd.pid",
  "hosts": ["unix://$SOCK"],
  "insecure-registries": ["10.201.0.0/24"],
  "log-level": "warn"
}
JSON
config_changed=
if cmp -s "$ROOT/daemon.json.new" "$ROOT/daemon.json"; then rm -f "$ROOT/daemon.json.new"; else mv "$ROOT/daemon.json.new" "$ROOT/daemon.json"; config_changed=1; fi

export PATH="$SBIN:$BIN:$PATH"

# A running daemon without its docker0 bridge (another dockerd started with
# "bridge": "none" deletes it) fails every networked step: restart it to get it back.
if dockerd_answers "$SOCK" && ! ip link show docker0 >/dev/null 2>&1; then
  log "dockerd answers but its docker0 bridge is gone; restarting it"
  kill "$(cat "$STATE/dockerd.pid")" 2>/dev/null || true
  for _ in $(seq 1 60); do dockerd_answers "$SOCK" || break; sleep 0.5; done
fi

if dockerd_answers "$SOCK" && [[ "$(curl -fsS --unix-socket "$SOCK" http://docker/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1)" = "$DOCKER_VERSION"* ]] && [ -z "$config_changed" ]; then
  log "dockerd $DOCKER_VERSION already answers on $SOCK"
else
  dpid=$(cat "$STATE/dockerd.pid" 2>/dev/null || true)
  if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && grep -q dockerd "/proc/$dpid/comm" 2>/dev/null; then
    # dockerd reads its config file only at start (a SIGHUP reloads part of it, not all).
    log "stopping dockerd $dpid (not answering, another version, or $ROOT/daemon.json changed)"
    kill "$dpid" || true
    for _ in $(seq 1 150); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$dpid" 2>/dev/null && die "dockerd $dpid did not stop within 30 s"
  fi
  dockerd_answers "$SOCK" && die "something else answers on $SOCK; refusing to start a second dockerd there"
  rm -f "$SOCK"
  log "starting dockerd $DOCKER_VERSION on $SOCK (log: $LOG)"
  setsid nohup "$SBIN/dockerd" --config-file "$ROOT/daemon.json" >>"$LOG" 2>&1 </dev/null &
  wait_for_dockerd "$SOCK" "$LOG" || die "dockerd did not answer on $SOCK within 60 s"
fi

# A daemon started over an earlier one may come up without its bridge; every networked
# build step would then fail with "adding interface ... to bridge docker0 failed".
ip link show docker0 >/dev/null 2>&1 || die "dockerd runs but the docker0 bridge is missing (see $LOG)"

api() { curl -fsS --unix-socket "$SOCK" "$@"; }

# 4. Offline base images: no registry is reachable, and BuildKit resolves these from
#    the local image store.
if ! has_image "$SOCK" busybox:latest; then
  log "seeding busybox:latest from busybox-static"
  seed_busybox "$SOCK"
fi

if ! has_image "$SOCK" debian:bookworm-slim; then
  log "seeding debian:bookworm-slim with mmdebstrap (about 20 s)"
  seed_debian "$SOCK" "$MIRROR"
fi

for img in busybox:latest debian:bookworm-slim; do has_image "$SOCK" "$img" || die "image $img missing after seeding"; done
docker compose version >/dev/null 2>&1 || die "docker compose does not run (plugin: $PLUGINS/docker-compose)"
log "engine ready: DOCKER_HOST=unix://$SOCK ($(api http://docker/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1), containerd image store)"
