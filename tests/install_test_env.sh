#!/usr/bin/env bash
# Installs everything the test suite needs, from the package registries only:
#   .venv                      edgeclf + the converter + test tools (pyproject extras convert,test), and tf-keras
#                              with --no-deps (its metadata asks for the full `tensorflow` wheel, which would
#                              clash with tensorflow-cpu; tf-keras is what loads Keras-2 .h5 files), and
#                              toxic-comment-classifier with --no-deps (the zoo's real six-label model: its weights
#                              and tokenizer; it too asks for the full `tensorflow` wheel)
#                              and tf2onnx from benchmarks/requirements-alternatives.txt (only for the alternatives
#                              benchmark and its test, tests/bench/: Keras model.export(format="onnx") needs it; it
#                              is no dependency of edgeclf and pip adds nothing else with it)
#   .venv-tflite-runtime       edgeclf's runtime beside tflite-runtime 2.14 and numpy<2 (it fails under numpy 2), and
#                              pytest: tests/test_backends.py runs itself there for the tflite-runtime backend
#   the JVM toolchain          Java 17, JUnit 5, kotlinc, for android_demo's Kotlin tests
# Idempotent. Usage: bash tests/install_test_env.sh && .venv/bin/pytest
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -e ".[convert,test]"
.venv/bin/pip install -q --no-deps "tf-keras==2.21.0" "toxic-comment-classifier==0.3.0"
.venv/bin/pip install -q -r benchmarks/requirements-alternatives.txt
python3 -m venv .venv-tflite-runtime
.venv-tflite-runtime/bin/pip install -q "tflite-runtime==2.14.0" "numpy<2" "pytest==9.2.0"
.venv-tflite-runtime/bin/pip install -q --no-deps -e .
bash android_demo/tools/install_jvm_toolchain.sh
