# Sourced by the engine scripts. seed_busybox SOCK: imports busybox:latest into the Docker
# engine at SOCK from Debian's busybox-static, every applet linked, since no registry can
# be reached to pull it.
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
