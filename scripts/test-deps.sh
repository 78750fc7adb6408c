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
#   verdaccio 6.8.0  an npm registry, under /opt/hln-verdaccio, which
#                    test/helpers/npm-registry.ts runs on a loopback port for npm stacks
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

# verdaccio, the npm registry of the npm stack tests. 6.8.0 is the last release that runs on
# Node 20 (6.10 wants 22), and only once node-fetch is pinned to 2.7.0 with an override.
verdaccio_home=/opt/hln-verdaccio
verdaccio_bin=$verdaccio_home/node_modules/verdaccio/bin/verdaccio
verdaccio_manifest='{
  "name": "hln-verdaccio",
  "private": true,
  "description": "the npm registry of hln'"'"'s npm stack tests (scripts/test-deps.sh)",
  "dependencies": { "verdaccio": "6.8.0" },
  "overrides": { "node-fetch": "2.7.0" }
}'
if [ "$(node -p 'require(process.argv[1]).version' "$verdaccio_home/node_modules/verdaccio/package.json" 2>/dev/null)" = 6.8.0 ] &&
  [ "$(cat "$verdaccio_home/package.json" 2>/dev/null)" = "$verdaccio_manifest" ]; then
  log "verdaccio 6.8.0 already installed in $verdaccio_home"
else
  log "installing verdaccio 6.8.0 into $verdaccio_home"
  mkdir -p "$verdaccio_home"
  printf '%s\n' "$verdaccio_manifest" >"$verdaccio_home/package.json"
  (cd "$verdaccio_home" && npm install --no-audit --no-fund --ignore-scripts --omit=dev --loglevel=error >/dev/null)
fi
# Check that it serves: start it on a free loopback port with a throwaway config.
verdaccio_check=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
printf 'storage: %s/storage\nuplinks: {}\npackages: {}\nweb: { enable: false }\nlog: { type: stdout, level: error }\n' \
  "$verdaccio_check" >"$verdaccio_check/config.yaml"
node "$verdaccio_bin" --config "$verdaccio_check/config.yaml" --listen "127.0.0.1:$port" >"$verdaccio_check/log" 2>&1 &
verdaccio_pid=$!
served=0
for _ in $(seq 1 100); do
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "http://127.0.0.1:$port/-/ping"; then served=1; break; fi
  kill -0 "$verdaccio_pid" 2>/dev/null || break
  sleep 0.2
done
kill "$verdaccio_pid" 2>/dev/null || true
wait "$verdaccio_pid" 2>/dev/null || true
if [ "$served" != 1 ]; then
  tail -5 "$verdaccio_check/log" >&2
  rm -rf "$verdaccio_check"
  die "verdaccio in $verdaccio_home does not start"
fi
rm -rf "$verdaccio_check"
log "ready: verdaccio 6.8.0 ($verdaccio_bin)"

# A second engine with Docker's classic image store, for the tests of that mode.
bash "$(dirname "$0")/engine-classic-up.sh"

# Docker 20.10 (Debian 12's own, BuildKit 0.8): the oldest engine hln runs on.
bash "$(dirname "$0")/engine-compat-up.sh"

# A second host in a network namespace, with sshd, its own Docker and a stand-in
# buildkitd container: the remote engine matrix (ssh://, docker-container://, tcp://).
bash "$(dirname "$0")/remote-host-up.sh"
