#!/usr/bin/env bash
# Fetches Debian's real Xen 4.17 hypervisor symbols (xen-hypervisor-4.17-amd64-dbg) and unpacks them
# under .cache/xen/, printing the path of xen-syms. Idempotent: does nothing when already unpacked.
# Usage: scripts/fetch-xen-syms.sh        (needs Debian's package archive; run as root or with apt access)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/xen"
syms="$dest/usr/lib/debug/boot/xen-syms-4.17-amd64"
if [ ! -f "$syms" ]; then
  mkdir -p "$dest/deb"
  cd "$dest/deb"
  if ! ls xen-hypervisor-4.17-amd64-dbg_*.deb >/dev/null 2>&1; then
    apt-get download xen-hypervisor-4.17-amd64-dbg >&2 || { apt-get update -qq >&2 && apt-get download xen-hypervisor-4.17-amd64-dbg >&2; }
  fi
  dpkg-deb -x xen-hypervisor-4.17-amd64-dbg_*.deb "$dest"
fi
[ -f "$syms" ] || { echo "fetch-xen-syms: $syms missing after unpacking" >&2; exit 1; }
echo "$syms"
