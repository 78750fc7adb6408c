#!/usr/bin/env bash
# A compatibility engine for tests against an old daemon: Debian 12's own docker.io
# (Docker 20.10.24, API 1.41, classic image store, vendored BuildKit 0.8) on its own socket,
# roots and bridge, next to the main engine of scripts/engine-up.sh (run that first: it
# installs the containerd, runc and tini this one runs on, and holds the
# debian:bookworm-slim this one copies). The .deb is fetched with apt-get download and
# unpacked with dpkg -x, never installed. Idempotent; needs root.
#
# It provides, on $HLN_COMPAT_SOCK:
#   - the Docker 20.10.24 API, with BuildKit behind POST /grpc (h2c upgrade)
#   - busybox:latest (from busybox-static) and debian:bookworm-slim (copied from the main
#     engine, or made with mmdebstrap if that copy cannot be loaded)
#   - its own managed containerd, under its exec-root and data-root
# and the 20.10 CLI at $HLN_COMPAT_ROOT/docker/usr/bin/docker, for checking it by hand.
#
# Not "bridge": "none": a dockerd started that way deletes the host's docker0, which
# belongs to the main engine, and every networked build step there then fails.
#
#   HLN_ENGINE_ROOT    where the engines live (default /opt/hln-engine)
#   HLN_COMPAT_ROOT    where this engine lives (default $HLN_ENGINE_ROOT/compat)
#   HLN_COMPAT_SOCK    its Docker API socket (default /var/run/hln-compat.sock)
#   HLN_ENGINE_SOCK    the main engine's socket, to copy debian:bookworm-slim from
#                      (default /var/run/docker.sock)
#   HLN_DEBIAN_MIRROR  the mirror for the mmdebstrap fallback (default deb.debian.org)
set -euo pipefail
# shellcheck source=lib/engine.sh
. "$(dirname "$0")/lib/engine.sh"

ROOT=${HLN_ENGINE_ROOT:-/opt/hln-engine}
STATE=${HLN_COMPAT_ROOT:-$ROOT/compat}
SOCK=${HLN_COMPAT_SOCK:-/var/run/hln-compat.sock}
MAIN_SOCK=${HLN_ENGINE_SOCK:-/var/run/docker.sock}
MIRROR=${HLN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER_VERSION=20.10.24
SBIN="$STATE/docker/usr/sbin"
BIN="$STATE/docker/usr/bin"
LOG="$STATE/dockerd.log"
# Its own bridge, with no route out (iptables off): steps here run without a network.
BRIDGE=hln-compat0
BRIDGE_ADDR=10.198.0.1/24

log() { printf '[engine-compat-up] %s\n' "$*" >&2; }
die() { printf '[engine-compat-up] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it starts dockerd and creates a bridge)"
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || log "warning: written for Debian 12 (bookworm); continuing"
mkdir -p "$STATE"

# 1. What 20.10 runs on, all from Debian 12: containerd and runc, and tini-static as
#    docker-init (the package's docker-init is a relative link to a tini-static it does
#    not ship). engine-up.sh installs them already.
need=()
for pkg in containerd runc tini; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x /usr/bin/tini-static ] || die "/usr/bin/tini-static missing (package tini)"

# 2. Docker 20.10 from bookworm, unpacked, not installed: dpkg -i would replace the
#    docker the machine already has on PATH and pull in its systemd units.
if [ ! -x "$SBIN/dockerd" ] || ! "$SBIN/dockerd" --version | grep -q "$DOCKER_VERSION"; then
  mkdir -p "$STATE/debs"
  rm -f "$STATE"/debs/docker.io_*.deb
  log "fetching docker.io $DOCKER_VERSION from bookworm"
  # Sandbox user root: _apt cannot write into a root-only directory.
  dl() { (cd "$STATE/debs" && apt-get -qq -o APT::Sandbox::User=root download docker.io); }
  dl || { apt-get update -qq && dl; } || die "apt-get download docker.io failed"
  rm -rf "$STATE/docker"
  dpkg -x "$STATE"/debs/docker.io_*.deb "$STATE/docker"
  "$SBIN/dockerd" --version | grep -q "$DOCKER_VERSION" ||
    die "unpacked dockerd is not $DOCKER_VERSION: $("$SBIN/dockerd" --version)"
fi

# 3. Its bridge.
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  log "creating bridge $BRIDGE $BRIDGE_ADDR"
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
fi
ip link set "$BRIDGE" up

# 4. The daemon. No --containerd/"containerd": dockerd then starts a containerd of its
#    own, socket and state under exec-root, content under data-root, apart from the main
#    engine's. 20.10 has only the classic image store, so no "containerd-snapshotter".
#    "deprecated-key-path" keeps 20.10's key.json out of /etc/docker.
#    "features.buildkit" only makes the 20.10 CLI build with BuildKit by default (the
#    _ping Builder-Version header); /grpc answers without it. Set for that default.
cat >"$STATE/daemon.json" <<JSON
{
  "features": { "buildkit": true },
  "data-root": "$STATE/data",
  "exec-root": "$STATE/exec",
  "pidfile": "$STATE/dockerd.pid",
  "deprecated-key-path": "$STATE/key.json",
  "hosts": ["unix://$SOCK"],
  "bridge": "$BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "init-path": "/usr/bin/tini-static",
  "userland-proxy-path": "$SBIN/docker-proxy",
  "log-level": "warn"
}
JSON

# Its own binaries first, then Debian's containerd and runc; never the main engine's tree.
export PATH="$SBIN:$BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
api() { curl -fsS --unix-socket "$SOCK" "$@"; }
version() { curl -fsS --max-time 2 --unix-socket "$1" http://docker/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1; }
pid() { cat "$STATE/dockerd.pid" 2>/dev/null; }

if dockerd_answers "$SOCK" && [[ "$(version "$SOCK")" = "$DOCKER_VERSION"* ]]; then
  log "dockerd $DOCKER_VERSION already answers on $SOCK"
else
  if [ -n "$(pid)" ] && kill -0 "$(pid)" 2>/dev/null; then
    log "stopping this engine's dockerd $(pid), which does not answer as $DOCKER_VERSION"
    kill "$(pid)" || true
    for _ in $(seq 1 75); do kill -0 "$(pid)" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$(pid)" 2>/dev/null && die "dockerd $(pid) did not stop; see $LOG"
  fi
  dockerd_answers "$SOCK" && die "something else answers on $SOCK; not starting over it"
  rm -f "$SOCK"
  log "starting dockerd $DOCKER_VERSION on $SOCK (log: $LOG)"
  setsid nohup "$SBIN/dockerd" --config-file "$STATE/daemon.json" >>"$LOG" 2>&1 </dev/null &
  wait_for_dockerd "$SOCK" "$LOG" || die "dockerd did not answer on $SOCK within 60 s"
fi
[[ "$(version "$SOCK")" = "$DOCKER_VERSION"* ]] || die "$SOCK answers as $(version "$SOCK"), expected $DOCKER_VERSION"
[ -S "$STATE/exec/containerd/containerd.sock" ] || die "no managed containerd under $STATE/exec (see $LOG)"

# 5. Base images; no registry is reachable, so never a pull.
if ! has_image "$SOCK" busybox:latest; then
  log "seeding busybox:latest from busybox-static"
  seed_busybox "$SOCK"
fi

if ! has_image "$SOCK" debian:bookworm-slim; then
  # docker save of the main engine's containerd store carries a manifest.json beside its
  # OCI layout, which is what 20.10's docker load reads.
  if has_image "$MAIN_SOCK" debian:bookworm-slim; then
    log "copying debian:bookworm-slim from the engine on $MAIN_SOCK"
    copy_image "$MAIN_SOCK" "$SOCK" debian:bookworm-slim || log "warning: loading the export failed"
  fi
  if ! has_image "$SOCK" debian:bookworm-slim; then
    command -v mmdebstrap >/dev/null || die "no debian:bookworm-slim to copy and no mmdebstrap (run scripts/engine-up.sh)"
    log "seeding debian:bookworm-slim with mmdebstrap (about 20 s)"
    seed_debian "$SOCK" "$MIRROR"
  fi
fi
for img in busybox:latest debian:bookworm-slim; do has_image "$SOCK" "$img" || die "image $img missing after seeding"; done

# 6. BuildKit answers the h2c upgrade on /grpc; and the main engine is untouched.
# The daemon keeps the upgraded connection open, so curl ends on its timeout (exit 28).
code=$(curl -s -o /dev/null --max-time 0.5 -w '%{http_code}' --unix-socket "$SOCK" -X POST \
  -H 'Connection: Upgrade' -H 'Upgrade: h2c' http://docker/grpc || true)
[ "$code" = 101 ] || die "POST /grpc on $SOCK answered ${code:-nothing}, not 101: no BuildKit (see $LOG)"
ip link show docker0 >/dev/null 2>&1 || log "warning: the host's docker0 bridge is missing (the main engine's; not this script's doing?)"
log "compat engine ready: DOCKER_HOST=unix://$SOCK (Docker $(version "$SOCK"), API $(api http://docker/version | sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p'), classic image store)"
