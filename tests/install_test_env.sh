#!/usr/bin/env bash
# Installs everything the test suite needs, from the package registries only:
#   .venv                      edgeclf + the converter (tensorflow, tf-keras for Keras-2 .h5 files, keras, onnx,
#                              onnxruntime: the convert extra) + test tools + Ray Data (extras convert,test,serve,ray),
#                              toxic-comment-classifier with --no-deps (the zoo's real six-label model: its weights
#                              and tokenizer; its own pins would move TensorFlow), and tf2onnx from
#                              benchmarks/requirements-alternatives.txt (only for the alternatives
#                              benchmark and its test, tests/bench/: Keras model.export(format="onnx") needs it; it
#                              is no dependency of edgeclf and pip adds nothing else with it)
#   .venv-tflite-runtime       edgeclf's runtime beside tflite-runtime 2.14 and numpy<2 (it fails under numpy 2), and
#                              pytest: tests/runtime/test_backends.py runs itself there for the tflite-runtime backend
#   the JVM toolchain          Java 17, JUnit 5, kotlinc, for android_demo's Kotlin tests
#   wrk                        the HTTP load generator tests/serve/ drives `edgeclf serve` with (Debian package)
#   the browser test           Debian's chromium (apt; never a Playwright browser download), node/npm, and
#                              `npm ci` in edgeclf/web (onnxruntime-web for the page, playwright-core to drive it)
# Idempotent. Usage: bash tests/install_test_env.sh && .venv/bin/pytest
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# an older .venv has tensorflow-cpu, which writes the same tensorflow/ package as `tensorflow` (the extra's): remove
# both, and the install below puts back `tensorflow` alone
if .venv/bin/pip show -q tensorflow-cpu >/dev/null 2>&1; then
    .venv/bin/pip uninstall -q -y tensorflow-cpu tensorflow
fi
.venv/bin/pip install -q -e ".[convert,test,serve,ray]"
.venv/bin/pip install -q --no-deps "toxic-comment-classifier==0.3.0"
.venv/bin/pip install -q -r benchmarks/requirements-alternatives.txt
python3 -m venv .venv-tflite-runtime
.venv-tflite-runtime/bin/pip install -q "tflite-runtime==2.14.0" "numpy<2" "pytest==9.2.0"
.venv-tflite-runtime/bin/pip install -q --no-deps -e .
bash android_demo/tools/install_jvm_toolchain.sh
if ! command -v wrk >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q wrk
fi
# tests/web: chromium from Debian (skipped with a reason where it cannot be installed; a failure under CI=true)
web_packages=()
dpkg -s chromium >/dev/null 2>&1 || web_packages+=(chromium)
command -v node >/dev/null 2>&1 || web_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || web_packages+=(npm)
if [ "${#web_packages[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq "${web_packages[@]}"; } \
        || echo "install_test_env: could not install ${web_packages[*]}; tests/web will skip (fail under CI=true)" >&2
fi
# the page's npm packages, exactly as package-lock.json records them (re-installed only when the lock changes)
if command -v npm >/dev/null 2>&1 && ! cmp -s edgeclf/web/package-lock.json edgeclf/web/node_modules/.edgeclf-installed-lock; then
    npm ci --prefix edgeclf/web --no-audit --no-fund
    cp edgeclf/web/package-lock.json edgeclf/web/node_modules/.edgeclf-installed-lock
fi
