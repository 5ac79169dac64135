#!/usr/bin/env bash
# Build an arm64 Debian bookworm root filesystem (the userland of 64-bit Raspberry Pi OS bookworm:
# Python 3.11, glibc 2.36) that runs on an x86_64 host under qemu-user emulation.
#
#   sudo benchmarks/raspberry_pi/build_rootfs.sh [ROOT]      # default ROOT: /work/arm64-rootfs
#
# Needs root (debootstrap, chroot, binfmt_misc) and the Debian mirror; takes 4–7 minutes on 2 cores
# and about 330 MB. Idempotent: an existing, working ROOT is left alone. Then run run_in_arm64.sh.
set -euo pipefail

ROOT="${1:-${EDGECLF_ARM64_ROOTFS:-/work/arm64-rootfs}}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm

if [ "$(id -u)" != 0 ]; then
  echo "build_rootfs.sh: needs root (debootstrap, chroot, binfmt_misc)" >&2
  exit 1
fi

# 1. qemu-user-static + binfmt-support register qemu-aarch64 for aarch64 ELF files; the F flag lets
#    the chroot run arm64 binaries without copying qemu into it.
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -e /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64
fi

# 2. The root filesystem: minbase plus Python, venv and pip (one stage: the host runs arm64 via binfmt).
if [ -x "$ROOT/usr/bin/python3" ] && chroot "$ROOT" /usr/bin/python3 -c 'import venv' 2>/dev/null; then
  echo "build_rootfs.sh: $ROOT already holds a working arm64 Python; leaving it as is"
else
  started=$(date +%s)
  mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$ROOT" "$MIRROR"
  echo "build_rootfs.sh: debootstrap took $(($(date +%s) - started)) s"
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb
fi

# 3. Trap: never bind-mount the host /sys (onnxruntime's and XNNPACK's cpuinfo read the x86 CPU layout
#    there and crash or give up). A two-CPU layout of our own is enough for them.
mkdir -p "$ROOT/sys/devices/system/cpu/cpu0" "$ROOT/sys/devices/system/cpu/cpu1"
echo 0-1 >"$ROOT/sys/devices/system/cpu/possible"
echo 0-1 >"$ROOT/sys/devices/system/cpu/present"

echo "build_rootfs.sh: $(chroot "$ROOT" /usr/bin/python3 -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')" \
  "in $ROOT ($(du -sh "$ROOT" | cut -f1))"
