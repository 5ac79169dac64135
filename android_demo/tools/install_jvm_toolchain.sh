#!/usr/bin/env bash
# Installs what tests/android/test_android_jvm.py needs to compile and run the Kotlin core's JUnit 5 tests on the JVM:
#   - Java 17 (openjdk-17-jdk-headless) and JUnit 5 (Debian's junit5: junit-platform-console-standalone.jar) via apt;
#   - kotlinc 2.x from the npm package kotlin-compiler, into android_demo/.toolchain (gitignored).
# Idempotent: does nothing that is already done. Run as root (apt). Usage: bash android_demo/tools/install_jvm_toolchain.sh
set -euo pipefail

KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${EDGECLF_JVM_TOOLCHAIN:-$HERE/.toolchain}"
JUNIT_JAR=/usr/share/java/junit-platform-console-standalone.jar
started=$(date +%s)

apt_packages=()
command -v javac >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)
[ -f "$JUNIT_JAR" ] || apt_packages+=(junit5)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${apt_packages[@]}"; then
        apt-get update
        apt-get install -y --no-install-recommends "${apt_packages[@]}"
    fi
fi

KOTLINC="$CACHE/node_modules/kotlin-compiler/bin/kotlinc"
installed=""
if [ -f "$CACHE/node_modules/kotlin-compiler/package.json" ]; then
    installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$CACHE/node_modules/kotlin-compiler/package.json" | head -n1)
fi
if [ "$installed" != "$KOTLIN_VERSION" ] || [ ! -x "$KOTLINC" ]; then
    mkdir -p "$CACHE"
    [ -f "$CACHE/package.json" ] || echo '{"name": "edgeclf-jvm-toolchain", "private": true}' > "$CACHE/package.json"
    npm install --prefix "$CACHE" --no-audit --no-fund --ignore-scripts "kotlin-compiler@$KOTLIN_VERSION"
    chmod +x "$CACHE"/node_modules/kotlin-compiler/bin/* 2>/dev/null || true
fi

echo "jvm toolchain ready in $(( $(date +%s) - started )) s: $("$KOTLINC" -version 2>&1 | tail -n1); JUnit: $JUNIT_JAR"
