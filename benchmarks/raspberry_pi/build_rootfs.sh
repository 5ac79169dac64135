#!/usr/bin/env bash
# Build a Debian bookworm root filesystem that runs on an x86_64 host under qemu-user emulation:
#   ARCH=arm64 (default): the userland of 64-bit Raspberry Pi OS bookworm (Python 3.11, glibc 2.36);
#   ARCH=armhf: the userland of 32-bit Raspberry Pi OS bookworm (armv7, same Python and glibc), with
#               Debian's python3-numpy (1.24, numpy < 2 as tflite-runtime 2.14 needs): the way a Pi user
#               gets numpy there, since PyPI has no armv7l numpy wheels.
#
#   sudo benchmarks/raspberry_pi/build_rootfs.sh [ROOT]             # arm64; default ROOT: /work/arm64-rootfs
#   sudo ARCH=armhf benchmarks/raspberry_pi/build_rootfs.sh [ROOT]  # armhf; default ROOT: /work/armhf-rootfs
#
# Needs root (debootstrap, chroot, binfmt_misc) and the Debian mirror; takes 3–10 minutes on 2 cores
# and about 330 MB. Idempotent: an existing, working ROOT is left alone. Then run run_in_arm.sh (same ARCH).
set -euo pipefail

ARCH="${ARCH:-arm64}"
case $ARCH in
  arm64) QEMU=aarch64 DEFAULT_ROOT="${EDGECLF_ARM64_ROOTFS:-/work/arm64-rootfs}" EXTRA= ;;
  armhf) QEMU=arm DEFAULT_ROOT="${EDGECLF_ARMHF_ROOTFS:-/work/armhf-rootfs}" EXTRA=,python3-numpy ;;
  *) echo "build_rootfs.sh: ARCH must be arm64 or armhf, not $ARCH" >&2; exit 1 ;;
esac
ROOT="${1:-$DEFAULT_ROOT}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm

if [ "$(id -u)" != 0 ]; then
  echo "build_rootfs.sh: needs root (debootstrap, chroot, binfmt_misc)" >&2
  exit 1
fi

# 1. qemu-user-static + binfmt-support register qemu-aarch64 / qemu-arm for arm ELF files; the F flag lets
#    the chroot run arm binaries without copying qemu into it.
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -e "/usr/bin/qemu-$QEMU-static" ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$QEMU" ]; then
  update-binfmts --enable "qemu-$QEMU"
fi

# 2. The root filesystem: minbase plus Python, venv and pip (one stage: the host runs arm code via binfmt).
if [ -x "$ROOT/usr/bin/python3" ] && chroot "$ROOT" /usr/bin/python3 -c 'import venv' 2>/dev/null; then
  echo "build_rootfs.sh: $ROOT already holds a working $ARCH Python; leaving it as is"
else
  started=$(date +%s)
  mkdir -p "$ROOT"
  debootstrap --arch="$ARCH" --variant=minbase --include="python3,python3-venv,python3-pip,ca-certificates$EXTRA" \
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
  "($ARCH) in $ROOT ($(du -sh "$ROOT" | cut -f1))"
