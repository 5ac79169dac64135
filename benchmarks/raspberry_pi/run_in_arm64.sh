#!/usr/bin/env bash
# The aarch64 check under its old name: run_in_arm.sh with ARCH=arm64 (see there).
ARCH=arm64 exec bash "$(dirname "$0")/run_in_arm.sh" "$@"
