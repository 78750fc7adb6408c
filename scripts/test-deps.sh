#!/usr/bin/env bash
# Installs, on Debian 12 and idempotently, what the integration tests need beyond the
# engine that scripts/engine-up.sh starts:
#   docker-registry  the distribution registry v2 (/usr/bin/docker-registry), which
#                    test/helpers/registry.ts runs on a loopback port per test
#   apache2-utils    htpasswd, for the registry's bcrypt password file
#   gcc, gcc-aarch64-linux-gnu
#                    build the exec shim for both architectures, so the test that the
#                    committed src/gen/exec-shim.ts rebuilds to the same bytes runs
#   engines          a classic-store Docker 26, Docker 20.10, and a second host in a
#                    network namespace (sshd, Docker 26, a stand-in buildkitd container)
# Needs root. Runs `apt-get update` only when a package is missing.
set -euo pipefail

log() { printf '[test-deps] %s\n' "$*" >&2; }
die() { printf '[test-deps] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it installs Debian packages)"
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release || log "warning: written for Debian 12 (bookworm); continuing"

need=()
for pkg in docker-registry apache2-utils gcc gcc-aarch64-linux-gnu; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  # policy-rc.d 101 keeps the package's own registry service from starting on port 5000:
  # the tests start their own registries and nothing should hold that port.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  log "docker-registry, apache2-utils and the shim's compilers already installed"
fi

command -v docker-registry >/dev/null || die "docker-registry is not on PATH after install"
command -v htpasswd >/dev/null || die "htpasswd is not on PATH after install"
log "ready: $(command -v docker-registry), $(command -v htpasswd)"

# A second engine with Docker's classic image store, for the tests of that mode.
bash "$(dirname "$0")/engine-classic-up.sh"

# Docker 20.10 (Debian 12's own, BuildKit 0.8): the oldest engine hln runs on.
bash "$(dirname "$0")/engine-compat-up.sh"

# A second host in a network namespace, with sshd, its own Docker and a stand-in
# buildkitd container: the remote engine matrix (ssh://, docker-container://, tcp://).
bash "$(dirname "$0")/remote-host-up.sh"
