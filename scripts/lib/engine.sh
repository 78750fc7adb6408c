# Sourced by the engine scripts: what starting a dockerd and seeding its images have in
# common. No registry can be reached to pull from, so images are made or copied here.

# dockerd_answers SOCK: the Docker engine at SOCK answers /_ping.
dockerd_answers() { curl -fsS --max-time 2 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1; }

# has_image SOCK NAME: the engine at SOCK holds image NAME.
has_image() { curl -fsS --max-time 5 --unix-socket "$1" "http://docker/images/$2/json" >/dev/null 2>&1; }

# wait_for_dockerd SOCK LOG: waits up to 60 s for a dockerd just started; if it never
# answers, prints the end of its LOG and fails.
wait_for_dockerd() {
  local _
  for _ in $(seq 1 120); do dockerd_answers "$1" && return 0; sleep 0.5; done
  tail -n 30 "$2" >&2
  return 1
}

# seed_busybox SOCK: imports busybox:latest from Debian's busybox-static, every applet linked.
seed_busybox() {
  local sock=$1 tmp a
  tmp=$(mktemp -d)
  mkdir -p "$tmp/root/bin" "$tmp/root/tmp" "$tmp/root/etc"
  cp /bin/busybox "$tmp/root/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$tmp/root/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/root/etc/passwd"
  echo 'root:x:0:' >"$tmp/root/etc/group"
  tar -C "$tmp/root" -cf "$tmp/rootfs.tar" .
  curl -fsS --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' --data-binary @"$tmp/rootfs.tar" \
    'http://docker/images/create?fromSrc=-&repo=busybox&tag=latest&changes=ENV%20PATH%3D%2Fbin&changes=CMD%20%5B%22sh%22%5D' >/dev/null
  rm -rf "$tmp"
}

# seed_debian SOCK MIRROR: imports debian:bookworm-slim made with mmdebstrap (about 20 s).
seed_debian() {
  local sock=$1 mirror=$2 tmp
  tmp=$(mktemp -d)
  mmdebstrap --quiet --variant=minbase bookworm "$tmp/rootfs.tar" "$mirror"
  curl -fsS --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' --data-binary @"$tmp/rootfs.tar" \
    'http://docker/images/create?fromSrc=-&repo=debian&tag=bookworm-slim&changes=ENV%20PATH%3D%2Fusr%2Flocal%2Fsbin%3A%2Fusr%2Flocal%2Fbin%3A%2Fusr%2Fsbin%3A%2Fusr%2Fbin%3A%2Fsbin%3A%2Fbin&changes=CMD%20%5B%22bash%22%5D' >/dev/null
  rm -rf "$tmp"
}

# copy_image FROM_SOCK TO_SOCK NAME: docker save on one engine into docker load on another.
copy_image() {
  curl -fsS --unix-socket "$1" "http://docker/images/$3/get" |
    curl -fsS --unix-socket "$2" -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
      'http://docker/images/load?quiet=1' >/dev/null
}
