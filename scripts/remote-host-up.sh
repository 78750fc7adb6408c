#!/usr/bin/env bash
# A second, "remote" Docker host on this machine for hln's integration tests (ssh:// and
# docker-container:// connections), idempotently. It provides:
#   - network namespace hln-remote, joined to the host by the veth pair
#     hln-r0 10.201.0.1/24 (host side) <-> hln-r1 10.201.0.2/24 (namespace side); no other
#     addresses, no default route, so traffic from it goes nowhere else
#   - Docker 26.1.5 (the binaries of scripts/engine-up.sh, containerd image store) running
#     inside that namespace, with its own managed containerd, roots under
#     /opt/hln-engine/remote and its API on unix:///var/run/hln-remote.sock; its docker0 is
#     the namespace's own, the host's docker0 is left alone
#   - images busybox:latest and debian:bookworm-slim seeded offline (debian copied from the
#     main engine), and hln/buildkitd-standin:latest: debian plus /usr/bin/buildctl from
#     scripts/remote-host/buildctl, a test stand-in for moby/buildkit whose `buildctl
#     dial-stdio` relays to the engine's own BuildKit (POST /grpc), NOT BuildKit itself
#   - container hln-buildkitd from it (sleep infinity, restart unless-stopped, the engine's
#     socket mounted at /var/run/docker.sock inside)
#   - an sshd of its own inside the namespace on 10.201.0.2:22, key-only, root allowed
#     by key; sessions get DOCKER_HOST=unix:///var/run/hln-remote.sock and the Docker 26 CLI
#     first on PATH, so `ssh root@10.201.0.2 docker system dial-stdio` reaches that engine
#   - client side under /opt/hln-engine/remote/ssh: id_ed25519, known_hosts, config (use
#     `ssh -F /opt/hln-engine/remote/ssh/config root@10.201.0.2 ...`), the same files in
#     home/.ssh/, and bin/ssh, a wrapper adding that -F (put bin/ first on PATH). OpenSSH
#     finds ~/.ssh through the password database, not $HOME, so HOME=.../home alone does
#     not make a plain `ssh` use home/.ssh/config.
# The Debian openssh-server package is installed if missing, but the host's own ssh
# service is disabled and never started. Needs root; run scripts/engine-up.sh first.
# Safe to run again: every step checks before it acts. scripts/remote-host-down.sh stops
# it all and keeps the data.
#
# Environment:
#   HLN_ENGINE_ROOT   where the engines live (default /opt/hln-engine; this one in remote/)
#   HLN_ENGINE_SOCK   the main engine, source of debian:bookworm-slim (default /var/run/docker.sock)
#   HLN_REMOTE_SOCK   the remote engine's API socket (default /var/run/hln-remote.sock)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/engine.sh
. "$HERE/lib/engine.sh"

ROOT=${HLN_ENGINE_ROOT:-/opt/hln-engine}
MAIN_SOCK=${HLN_ENGINE_SOCK:-/var/run/docker.sock}
SOCK=${HLN_REMOTE_SOCK:-/var/run/hln-remote.sock}
SBIN="$ROOT/docker/usr/sbin"
BIN="$ROOT/docker/usr/bin"
R="$ROOT/remote"
SSHD_DIR="$R/ssh"
LOG="$R/dockerd.log"
NS=hln-remote
NS_PATH=/var/run/netns/$NS
HOST_IF=hln-r0
NS_IF=hln-r1
HOST_ADDR=10.201.0.1
REMOTE_ADDR=10.201.0.2
STANDIN_IMAGE=hln/buildkitd-standin:latest
STANDIN_CTR=hln-buildkitd
STANDIN_SRC="$HERE/remote-host/buildctl"
STANDIN_LABEL=org.hln.buildctl-standin.sha256

log() { printf '[remote-host-up] %s\n' "$*" >&2; }
die() { printf '[remote-host-up] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it creates a network namespace and starts dockerd and sshd)"
[ -x "$SBIN/dockerd" ] || die "no dockerd in $SBIN: run scripts/engine-up.sh first"
[ -f "$STANDIN_SRC" ] || die "missing $STANDIN_SRC"
for tool in ip nsenter curl ssh-keygen ssh sha256sum tar; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
export PATH="$SBIN:$BIN:$PATH"
mkdir -p "$R"

# 1. openssh-server for the namespace's sshd. The package's own service must not run on
#    the host: policy-rc.d keeps the install from starting it, sshd_not_to_be_run keeps its
#    init script and systemd unit from ever starting it, and the unit is disabled.
if [ ! -x /usr/sbin/sshd ]; then
  log "installing openssh-server (its host service stays off)"
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  touch /etc/ssh/sshd_not_to_be_run 2>/dev/null || { mkdir -p /etc/ssh && touch /etc/ssh/sshd_not_to_be_run; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
fi
[ -e /etc/ssh/sshd_not_to_be_run ] || touch /etc/ssh/sshd_not_to_be_run
if command -v systemctl >/dev/null; then
  if [ -d /run/systemd/system ]; then
    # systemd is running: stop the host's sshd if the package started it, and disable it.
    if systemctl is-enabled --quiet ssh.service 2>/dev/null || systemctl is-active --quiet ssh.service ssh.socket 2>/dev/null; then
      log "disabling and stopping the host's ssh service"
      systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    fi
  elif [ -e /etc/systemd/system/multi-user.target.wants/ssh.service ]; then
    # No systemd running (a container): only the unit's enablement links to remove.
    systemctl disable ssh.service >/dev/null 2>&1 || true
  fi
fi
if ss -Hltn 'sport = :22' 2>/dev/null | grep -q .; then
  log "warning: something listens on port 22 in the host's network namespace (not started by this script)"
fi

# 2. The namespace and the veth pair, with exactly these addresses.
[ -e "$NS_PATH" ] || { log "creating network namespace $NS"; ip netns add "$NS"; }
if ip link show "$HOST_IF" >/dev/null 2>&1 && ! ip -n "$NS" link show "$NS_IF" >/dev/null 2>&1; then
  log "$HOST_IF exists but its peer is not in $NS; recreating the pair"
  ip link del "$HOST_IF"
fi
if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
  log "creating veth $HOST_IF ($HOST_ADDR) <-> $NS_IF ($REMOTE_ADDR in $NS)"
  ip link add "$HOST_IF" type veth peer name "$NS_IF" netns "$NS"
fi
# No IPv6 (link-local included) on the pair: only the two IPv4 addresses exist.
sysctl -qw "net.ipv6.conf.$HOST_IF.disable_ipv6=1" 2>/dev/null || true
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$NS_IF.disable_ipv6=1" 2>/dev/null || true
ip addr show dev "$HOST_IF" | grep -q "inet $HOST_ADDR/24" || ip addr add "$HOST_ADDR/24" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip -n "$NS" addr show dev "$NS_IF" | grep -q "inet $REMOTE_ADDR/24" || ip -n "$NS" addr add "$REMOTE_ADDR/24" dev "$NS_IF"
ip -n "$NS" link set lo up
ip -n "$NS" link set "$NS_IF" up

ns_ino() { stat -L -c %i "$NS_PATH"; }
# in_ns PID: the process runs in the hln-remote namespace.
in_ns() { [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "net:[$(ns_ino)]" ]; }
pid_of() { [ -s "$1" ] && cat "$1" 2>/dev/null || true; }

# 3. dockerd inside the namespace. nsenter --net only: `ip netns exec` would also remount
#    /sys, hiding the cgroup mounts ("Devices cgroup isn't mounted"). The daemon's own
#    containerd lives under its exec-root, apart from the main engine's. init-path: the
#    unpacked docker-init is a relative link to tini-static that dangles outside /usr/bin.
#    insecure-registries: the swarm tests' plain-HTTP registry on 10.201.0.1.
[ -x /usr/bin/tini-static ] || die "no /usr/bin/tini-static (Debian package tini): run scripts/engine-up.sh first"
cat >"$R/daemon.json.new" <<JSON
{
  "features": { "containerd-snapshotter": true },
  "data-root": "$R/data",
  "exec-root": "$R/exec",
  "pidfile": "$R/dockerd.pid",
  "hosts": ["unix://$SOCK"],
  "init-path": "/usr/bin/tini-static",
  "insecure-registries": ["10.201.0.0/24"],
  "log-level": "warn"
}
JSON
config_changed=
if cmp -s "$R/daemon.json.new" "$R/daemon.json"; then rm -f "$R/daemon.json.new"; else mv "$R/daemon.json.new" "$R/daemon.json"; config_changed=1; fi

dpid=$(pid_of "$R/dockerd.pid")
if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && dockerd_answers "$SOCK" && in_ns "$dpid" && [ -z "$config_changed" ]; then
  log "remote dockerd already answers on $SOCK (pid $dpid, in $NS)"
else
  if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null && grep -q dockerd "/proc/$dpid/comm" 2>/dev/null; then
    log "stopping remote dockerd $dpid (not answering, outside $NS, or config changed)"
    kill "$dpid" || true
    for _ in $(seq 1 150); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$dpid" 2>/dev/null && die "remote dockerd $dpid did not stop within 30 s"
  fi
  dockerd_answers "$SOCK" && die "something else answers on $SOCK; refusing to start a second dockerd there"
  rm -f "$SOCK"
  log "starting remote dockerd in $NS on $SOCK (log: $LOG)"
  setsid nohup nsenter --net="$NS_PATH" "$SBIN/dockerd" --config-file "$R/daemon.json" >>"$LOG" 2>&1 </dev/null &
  wait_for_dockerd "$SOCK" "$LOG" || die "remote dockerd did not answer on $SOCK within 60 s"
  dpid=$(pid_of "$R/dockerd.pid")
  in_ns "$dpid" || die "remote dockerd ($dpid) is not in the $NS namespace"
fi
ip -n "$NS" link show docker0 >/dev/null 2>&1 || die "the remote dockerd has no docker0 in $NS (see $LOG)"
ip link show docker0 >/dev/null 2>&1 || log "warning: the host's docker0 is missing (it belongs to the main engine, run scripts/engine-up.sh)"
[ -S "$R/exec/containerd/containerd.sock" ] || die "remote dockerd has no managed containerd at $R/exec/containerd/containerd.sock"

D() { "$BIN/docker" -H "unix://$SOCK" "$@"; }
api() { curl -fsS --unix-socket "$SOCK" "$@"; }

# 4. Offline images: busybox from busybox-static, debian copied from the main engine.
if ! has_image "$SOCK" busybox:latest; then
  log "seeding busybox:latest"
  seed_busybox "$SOCK"
fi
if ! has_image "$SOCK" debian:bookworm-slim; then
  has_image "$MAIN_SOCK" debian:bookworm-slim ||
    die "the main engine ($MAIN_SOCK) has no debian:bookworm-slim to copy: run scripts/engine-up.sh first"
  log "copying debian:bookworm-slim from the main engine"
  copy_image "$MAIN_SOCK" "$SOCK" debian:bookworm-slim
fi
for img in busybox:latest debian:bookworm-slim; do has_image "$SOCK" "$img" || die "image $img missing after seeding"; done

# 5. The buildkitd stand-in image, rebuilt when scripts/remote-host/buildctl changes.
want_sha=$(sha256sum "$STANDIN_SRC" | cut -d' ' -f1)
have_sha=$(D image inspect --format "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$STANDIN_IMAGE" 2>/dev/null || true)
if [ "$have_sha" != "$want_sha" ]; then
  log "building $STANDIN_IMAGE from debian:bookworm-slim (commit, no registry)"
  old_id=$(D image inspect --format '{{.Id}}' "$STANDIN_IMAGE" 2>/dev/null || true)
  tmp=$(mktemp -d)
  install -D -m 755 "$STANDIN_SRC" "$tmp/usr/bin/buildctl"
  cid=$(D create debian:bookworm-slim true)
  tar -C "$tmp" --owner=0 --group=0 --numeric-owner -cf - usr/bin/buildctl | D cp - "$cid:/"
  D commit --change "LABEL $STANDIN_LABEL=$want_sha" --change 'CMD ["sleep","infinity"]' \
    "$cid" "$STANDIN_IMAGE" >/dev/null
  D rm "$cid" >/dev/null
  rm -rf "$tmp"
  if [ -n "$old_id" ]; then
    D rm -f "$STANDIN_CTR" >/dev/null 2>&1 || true
    D rmi "$old_id" >/dev/null 2>&1 || true
  fi
fi

# 6. The hln-buildkitd container, recreated when the image changed.
img_id=$(D image inspect --format '{{.Id}}' "$STANDIN_IMAGE")
ctr_state=$(D container inspect --format '{{.Image}} {{.State.Running}}' "$STANDIN_CTR" 2>/dev/null || true)
if [ -n "$ctr_state" ] && [ "${ctr_state% *}" != "$img_id" ]; then
  log "replacing $STANDIN_CTR (its image is out of date)"
  D rm -f "$STANDIN_CTR" >/dev/null
  ctr_state=
fi
if [ -z "$ctr_state" ]; then
  log "starting container $STANDIN_CTR"
  D run -d --name "$STANDIN_CTR" --restart unless-stopped --init \
    -v "$SOCK:/var/run/docker.sock" "$STANDIN_IMAGE" sleep infinity >/dev/null
elif [ "${ctr_state#* }" != true ]; then
  log "starting stopped container $STANDIN_CTR"
  D start "$STANDIN_CTR" >/dev/null
fi
if ! D exec "$STANDIN_CTR" buildctl debug workers >/dev/null 2>&1; then
  # A bind mount of a socket file holds the old inode if the daemon recreated the socket.
  log "$STANDIN_CTR does not reach the engine; restarting it"
  D restart -t 1 "$STANDIN_CTR" >/dev/null
  D exec "$STANDIN_CTR" buildctl debug workers >/dev/null || die "buildctl debug workers fails in $STANDIN_CTR"
fi

# 7. sshd inside the namespace: own config, host key, pidfile and authorized keys.
mkdir -p "$SSHD_DIR" "$SSHD_DIR/bin" "$SSHD_DIR/remote-home" /run/sshd
chmod 700 "$SSHD_DIR" "$SSHD_DIR/remote-home"
chmod 755 /run/sshd
[ -f "$SSHD_DIR/ssh_host_ed25519_key" ] ||
  ssh-keygen -q -t ed25519 -N '' -C "hln-remote host key" -f "$SSHD_DIR/ssh_host_ed25519_key"
[ -f "$SSHD_DIR/id_ed25519" ] ||
  ssh-keygen -q -t ed25519 -N '' -C "hln-remote client" -f "$SSHD_DIR/id_ed25519"
install -m 600 "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
printf '%s %s\n' "$REMOTE_ADDR" "$(cut -d' ' -f1,2 "$SSHD_DIR/ssh_host_ed25519_key.pub")" >"$SSHD_DIR/known_hosts"
chmod 600 "$SSHD_DIR/known_hosts"

# HOME points at an empty directory of its own so sessions do not run the host root's
# dotfiles; SetEnv is applied after sshd's own PATH and HOME. All on one SetEnv line:
# sshd uses only the first.
cat >"$SSHD_DIR/sshd_config.new" <<CONF
# Written by scripts/remote-host-up.sh: the hln-remote test host's sshd (namespace $NS).
ListenAddress $REMOTE_ADDR:22
AddressFamily inet
HostKey $SSHD_DIR/ssh_host_ed25519_key
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
X11Forwarding no
PrintMotd no
PrintLastLog no
AcceptEnv none
SetEnv DOCKER_HOST=unix://$SOCK PATH=$BIN:/usr/sbin:/usr/bin:/sbin:/bin HOME=$SSHD_DIR/remote-home
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config.new" || die "sshd rejects $SSHD_DIR/sshd_config.new"
sshd_changed=
if cmp -s "$SSHD_DIR/sshd_config.new" "$SSHD_DIR/sshd_config"; then
  rm -f "$SSHD_DIR/sshd_config.new"
else
  mv "$SSHD_DIR/sshd_config.new" "$SSHD_DIR/sshd_config"
  sshd_changed=1
fi
spid=$(pid_of "$SSHD_DIR/sshd.pid")
sshd_up() { [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null && grep -qx sshd "/proc/$spid/comm" 2>/dev/null && in_ns "$spid"; }
if sshd_up && [ -z "$sshd_changed" ]; then
  log "sshd already runs in $NS (pid $spid)"
elif sshd_up; then
  log "reloading sshd $spid (config changed)"
  kill -HUP "$spid"
  sleep 0.5
else
  log "starting sshd in $NS on $REMOTE_ADDR:22 (log: $SSHD_DIR/sshd.log)"
  rm -f "$SSHD_DIR/sshd.pid"
  nsenter --net="$NS_PATH" /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" ||
    die "sshd did not start (see $SSHD_DIR/sshd.log)"
  for _ in $(seq 1 50); do [ -s "$SSHD_DIR/sshd.pid" ] && break; sleep 0.1; done
  spid=$(pid_of "$SSHD_DIR/sshd.pid")
  sshd_up || die "sshd is not running in $NS (see $SSHD_DIR/sshd.log)"
fi

# 8. Client side: the config (for ssh -F), a copy under home/.ssh, and an ssh wrapper.
write_client_config() { # DIR: writes DIR/config naming DIR's key and known_hosts
  cat >"$1/config" <<CONF
# Written by scripts/remote-host-up.sh: the hln-remote test host.
Host $REMOTE_ADDR
  User root
  IdentityFile $1/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $1/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
CONF
  chmod 600 "$1/config"
}
write_client_config "$SSHD_DIR"
mkdir -p "$SSHD_DIR/home/.ssh"
chmod 700 "$SSHD_DIR/home" "$SSHD_DIR/home/.ssh"
install -m 600 "$SSHD_DIR/id_ed25519" "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/known_hosts" "$SSHD_DIR/home/.ssh/"
write_client_config "$SSHD_DIR/home/.ssh"
cat >"$SSHD_DIR/bin/ssh" <<SH
#!/bin/sh
# Written by scripts/remote-host-up.sh: ssh with the hln-remote client config.
exec /usr/bin/ssh -F $SSHD_DIR/config "\$@"
SH
chmod 755 "$SSHD_DIR/bin/ssh"

# 9. Checks: the engine over ssh, and an HTTP/2 answer through the stand-in's dial-stdio.
RSSH=(ssh -F "$SSHD_DIR/config" "root@$REMOTE_ADDR")
ok=
for _ in $(seq 1 20); do
  v=$("${RSSH[@]}" docker version --format '{{.Server.Version}}' 2>/dev/null) && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || { "${RSSH[@]}" true || true; tail -n 5 "$SSHD_DIR/sshd.log" >&2; die "ssh root@$REMOTE_ADDR docker version fails"; }
[[ "$v" = 26.1.5* ]] || die "docker over ssh reports server version '$v', expected 26.1.5"
root_dir=$("${RSSH[@]}" docker info --format '{{.DockerRootDir}}')
[ "$root_dir" = "$R/data" ] || die "docker over ssh reaches the engine with data root '$root_dir', expected $R/data"

# HTTP/2 client preface plus an empty SETTINGS frame; the reply must start with a SETTINGS
# frame (type 0x04 at offset 3).
reply=$({ printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\000\000\000\004\000\000\000\000\000'; sleep 1; } |
  timeout 20 "$BIN/docker" -H "unix://$SOCK" exec -i "$STANDIN_CTR" buildctl dial-stdio | head -c 9 | od -An -tx1 | tr -d ' \n') || true
[ "${reply:6:2}" = 04 ] || die "buildctl dial-stdio in $STANDIN_CTR did not answer with an HTTP/2 SETTINGS frame (got '$reply')"
ip link show docker0 >/dev/null 2>&1 || log "warning: the host's docker0 is missing"

log "remote host ready: ssh -F $SSHD_DIR/config root@$REMOTE_ADDR (or PATH=$SSHD_DIR/bin:\$PATH),"
log "  DOCKER_HOST=unix://$SOCK locally, engine $v, container $STANDIN_CTR runs $STANDIN_IMAGE"
