#!/usr/bin/env bash
# Fetches a Debian full-DWARF kernel (linux-image-6.1.0-N-amd64-dbg, ~860 MB, the newest version apt-cache
# offers) once and keeps only its vmlinux (~630 MB) under ${XPROF_BENCH_CACHE:-~/.cache/xprof-bench}/vmlinux/,
# printing its path. Idempotent: does nothing when a vmlinux is already there.
# Usage: scripts/fetch-vmlinux.sh        (needs Debian's package archive; run as root or with apt access)
set -euo pipefail
dest="${XPROF_BENCH_CACHE:-$HOME/.cache/xprof-bench}/vmlinux"
found() { ls "$dest"/usr/lib/debug/boot/vmlinux-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(found)" ]; then
  mkdir -p "$dest/deb"
  cd "$dest/deb"
  pick() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-dbg$' | awk '{ print $1 }' | sort -V | tail -n 1; }
  pkg=$(pick)
  if [ -z "$pkg" ]; then apt-get update -qq >&2; pkg=$(pick); fi
  [ -n "$pkg" ] || { echo "fetch-vmlinux: apt-cache offers no linux-image-6.1.0-*-amd64-dbg" >&2; exit 1; }
  ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >&2 || { apt-get update -qq >&2 && apt-get download "$pkg" >&2; }
  # Only the kernel image: the package's modules' debug files are another ~5 GB unpacked.
  dpkg-deb --fsys-tarfile "$pkg"_*.deb | tar -x -C "$dest" --wildcards './usr/lib/debug/boot/vmlinux-*'
  rm -f "$pkg"_*.deb
fi
vmlinux=$(found)
[ -n "$vmlinux" ] || { echo "fetch-vmlinux: no vmlinux under $dest after unpacking" >&2; exit 1; }
echo "$vmlinux"
