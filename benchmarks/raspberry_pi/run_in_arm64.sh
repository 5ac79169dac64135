#!/usr/bin/env bash
# Run the edgeclf runtime on arm64 (Raspberry Pi OS bookworm userland) under qemu emulation and compare
# every backend's predictions with x86_64's on the example's 200 held-out IMDB reviews, and run the runtime's
# tests (tests/test_backends.py, tests/test_runtime_without_tf.py) there with pytest, for each backend.
#
#   sudo benchmarks/raspberry_pi/build_rootfs.sh [ROOT]     # once: 2–7 minutes
#   sudo benchmarks/raspberry_pi/run_in_arm64.sh [ROOT]     # about 15 minutes (14 min 35 s measured, pytest included)
#
# On the host (network: PyPI): builds the edgeclf wheel, converts the example (needs edgeclf[convert]),
# runs the x86 reference, writes the Keras reference the tests compare with, and downloads aarch64 cp311
# wheels (pytest too). In the chroot (no network, no host /sys, no TensorFlow): two venvs, `main` (numpy 2,
# ai-edge-litert, onnxruntime) and `tflrt` (numpy<2, tflite-runtime 2.14); then `edgeclf predict` per
# backend, on the bundle folder and on the single-file .tflite, and pytest per backend on that bundle
# (EDGECLF_TEST_EMULATED=1: 300 reviews, no 1 MB text). The tests run against the installed wheel: only
# tests/ and pyproject.toml (pytest's settings) are copied in, never the source tree.
# Results: $ROOT/opt/edgeclf-check/results.{md,json} (also printed). Exit status 1 if any run differs or fails.
set -uo pipefail

ROOT="${1:-${EDGECLF_ARM64_ROOTFS:-/work/arm64-rootfs}}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PYTHON:-python3}"  # a Python with edgeclf[convert] installed (TensorFlow for the conversion)
EDGECLF="$(dirname "$(command -v "$PY")")/edgeclf"
CHECK=/opt/edgeclf-check  # inside the chroot
WORK="$ROOT$CHECK"
HERE="$(cd "$(dirname "$0")" && pwd)"
BACKENDS="${BACKENDS:-litert onnxruntime numpy tflite-runtime}"
PLATFORMS=(--platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64
  --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64)

die() { echo "run_in_arm64.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot)"
[ -x "$ROOT/usr/bin/python3" ] || die "$ROOT has no arm64 Python; run build_rootfs.sh first"
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 is not registered with binfmt_misc; run build_rootfs.sh"
in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 /usr/sbin/chroot "$ROOT" "$@"; }
now() { date +%s.%N; }
secs() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# the venvs survive between runs (only the edgeclf wheel is reinstalled); everything else is rebuilt
rm -rf "$WORK/out" "$WORK/bundle" "$WORK/wheels" "$WORK/suite" && mkdir -p "$WORK/wheels/main" "$WORK/wheels/tflrt" "$WORK/out" "$WORK/suite/tests"
started=$(now)

# 1. Host: the edgeclf wheel (pure Python), the example bundle (+ single file), the x86 reference.
# built from a copy: setuptools writes build/ and *.egg-info into the source tree
src=$(mktemp -d)
tar -C "$REPO" --exclude=./.git --exclude=./build --exclude='*.egg-info' --exclude=./android_demo -cf - . | tar -C "$src" -xf -
"$PY" -m pip wheel -q --no-deps -w "$WORK/wheels/edgeclf" "$src" >"$WORK/wheel.log" 2>&1 \
  || die "building the edgeclf wheel failed (see $WORK/wheel.log)"
rm -rf "$src"
formats=
for wanted in tflite,onnx,numpy tflite,onnx tflite; do  # every format this checkout can write
  if "$EDGECLF" convert example -o "$WORK/bundle" --single-file --force --formats "$wanted" >"$WORK/convert.log" 2>&1; then
    formats=$wanted
    break
  fi
done
[ -n "$formats" ] || die "converting the example failed: $(tail -1 "$WORK/convert.log")"
cp "$REPO/convert/examples/imdb_bilstm/heldout.csv" "$WORK/texts.csv"
cp "$HERE/tflite_runtime_probe.py" "$WORK/"
cp "$REPO/pyproject.toml" "$WORK/suite/"
cp "$REPO/tests/conftest.py" "$REPO/tests/test_backends.py" "$REPO/tests/test_runtime_without_tf.py" "$WORK/suite/tests/"
"$PY" "$REPO/tests/test_backends.py" --write-reference "$WORK/reference.json" >"$WORK/reference.log" 2>&1 \
  || die "writing the Keras reference failed (see $WORK/reference.log)"
"$EDGECLF" predict "$WORK/bundle" --input "$WORK/texts.csv" --format jsonl -o "$WORK/out/x86-default.jsonl" \
  || die "the x86 reference run failed"
echo "host: wheel, bundle ($formats), x86 and Keras references in $(secs "$started" "$(now)") s"

# 2. Host: aarch64 cp311 wheels (pip --platform matches tags exactly: 2_27 = ai-edge-litert 2.x,
#    2_28 = onnxruntime ≥ 1.29, 2_34 = tflite-runtime 2.14).
t=$(now)
"$PY" -m pip download -q --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/main" 2>>"$WORK/download.log" \
  "numpy>=2" ai-edge-litert==2.3.0 onnxruntime pytest==9.2.0 || die "downloading the aarch64 wheels failed (see $WORK/download.log)"
"$PY" -m pip download -q --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/tflrt" 2>>"$WORK/download.log" \
  "numpy<2" tflite-runtime==2.14.0 pytest==9.2.0 || die "downloading tflite-runtime failed (see $WORK/download.log)"
echo "host: aarch64 wheels downloaded in $(secs "$t" "$(now)") s"

# 3. Chroot, offline: the two venvs.
t=$(now)
in_chroot /bin/sh -ec "
  cd $CHECK
  if ! venv-main/bin/python -c 'import onnxruntime, ai_edge_litert' 2>/dev/null; then
    rm -rf venv-main && python3 -m venv venv-main
    venv-main/bin/pip install -q --no-index --find-links wheels/main 'numpy>=2' ai-edge-litert==2.3.0 onnxruntime
  fi
  if ! venv-tflrt/bin/python -c 'import tflite_runtime' 2>/dev/null; then
    rm -rf venv-tflrt && python3 -m venv venv-tflrt
    venv-tflrt/bin/pip install -q --no-index --find-links wheels/tflrt 'numpy<2' tflite-runtime==2.14.0
  fi
  venv-main/bin/python -c 'import pytest' 2>/dev/null || venv-main/bin/pip install -q --no-index --find-links wheels/main pytest==9.2.0
  venv-tflrt/bin/python -c 'import pytest' 2>/dev/null || venv-tflrt/bin/pip install -q --no-index --find-links wheels/tflrt pytest==9.2.0
  venv-main/bin/pip install -q --no-index --no-deps --force-reinstall wheels/edgeclf/*.whl
  venv-tflrt/bin/pip install -q --no-index --no-deps --force-reinstall wheels/edgeclf/*.whl
" || die "installing inside the chroot failed"
echo "chroot: venvs ready in $(secs "$t" "$(now)") s ($(du -sh "$WORK/venv-main" | cut -f1) main, $(du -sh "$WORK/venv-tflrt" | cut -f1) tflrt)"
in_chroot $CHECK/venv-main/bin/python -c 'import platform, sys; print("chroot:", platform.machine(), sys.version.split()[0])'

# 4. Chroot: edgeclf predict per backend, on the folder and on the single file; timings are wall clock.
results="$WORK/results.md"
{
  echo "| backend | input | status | wall: 200 reviews | wall: one text (cold start) | ≈ per review after start |"
  echo "|---|---|---|---|---|---|"
} >"$results"
runs=()
for backend in $BACKENDS; do
  venv=venv-main
  [ "$backend" = tflite-runtime ] && venv=venv-tflrt
  targets=bundle
  case $backend in litert | tflite-runtime) targets="bundle bundle/model.edgeclf.tflite" ;; esac
  for target in $targets; do
    kind=folder; [ "$target" = bundle ] || kind=single-file
    out="out/arm64-$backend-$kind.jsonl"
    cmd=("$CHECK/$venv/bin/edgeclf" predict "$CHECK/$target" --backend "$backend")
    t=$(now)
    if in_chroot "${cmd[@]}" --input "$CHECK/texts.csv" --format jsonl -o "$CHECK/$out" 2>"$WORK/$out.err"; then
      batch=$(secs "$t" "$(now)")
      t=$(now)
      in_chroot "${cmd[@]}" "a wonderful film" >/dev/null 2>&1 || echo "cold-start run of $backend failed" >&2
      cold=$(secs "$t" "$(now)")
      per=$("$PY" -c "import sys; print(f'{(float(sys.argv[1]) - float(sys.argv[2])) / 199 * 1000:.0f}')" "$batch" "$cold")
      echo "| $backend | $kind | ran | $batch s | $cold s | $per ms |" >>"$results"
    elif [ "$backend" = tflite-runtime ] && grep -q "unknown backend" "$WORK/$out.err"; then
      # edgeclf has no tflite-runtime backend yet: the bare interpreter with edgeclf's tokenizer instead
      t=$(now)
      if in_chroot "$CHECK/$venv/bin/python" "$CHECK/tflite_runtime_probe.py" "$CHECK/$target" "$CHECK/texts.csv" \
        "$CHECK/$out" 2>"$WORK/$out.err"; then
        echo "| $backend (bare interpreter) | $kind | ran | $(secs "$t" "$(now)") s | - | - |" >>"$results"
      else
        echo "| $backend (bare interpreter) | $kind | FAILED: $(tail -1 "$WORK/$out.err") | - | - | - |" >>"$results"
      fi
    else
      echo "| $backend | $kind | FAILED: $(tail -1 "$WORK/$out.err") | - | - | - |" >>"$results"
    fi
    runs+=("$WORK/$out")
  done
done
echo >>"$results"
"$PY" "$HERE/compare.py" "$WORK/out/x86-default.jsonl" "${runs[@]}" --json "$WORK/results.json" >>"$results"
status=$?
echo >>"$results"

# 5. Chroot: the runtime's tests with pytest, per backend, against the host's bundle and Keras reference.
#    test_runtime_without_tf.py runs with each venv's default backend (litert, tflite-runtime); its checks of
#    pyproject's package list and package data need the source tree, which is not copied in.
{
  echo "| pytest on aarch64, backend | tests | passed | failed | errors | skipped | wall |"
  echo "|---|---|---|---|---|---|---|"
} >>"$results"
deselect="not venv_runs_this_suite and not every_package_is_installed and not every_runtime_data_file_is_packaged"
for backend in $BACKENDS; do
  venv=venv-main
  [ "$backend" = tflite-runtime ] && venv=venv-tflrt
  files=("$CHECK/suite/tests/test_backends.py")
  case $backend in litert | tflite-runtime) files+=("$CHECK/suite/tests/test_runtime_without_tf.py") ;; esac
  t=$(now)
  in_chroot /usr/bin/env EDGECLF_TEST_BUNDLE=$CHECK/bundle EDGECLF_TEST_REFERENCE=$CHECK/reference.json \
    EDGECLF_TEST_BACKENDS="$backend" EDGECLF_TEST_EMULATED=1 \
    "$CHECK/$venv/bin/pytest" -q -p no:cacheprovider --rootdir "$CHECK/suite" --junitxml "$CHECK/out/pytest-$backend.xml" \
    "${files[@]}" -k "$deselect" >"$WORK/out/pytest-$backend.log" 2>&1
  wall=$(secs "$t" "$(now)")
  "$PY" "$HERE/junit_summary.py" "$WORK/out/pytest-$backend.xml" "$backend" "$wall" "$WORK/results.json" >>"$results" \
    || status=1
done
echo >>"$results"
versions='from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in __import__("sys").argv[1:]))'
{
  echo "versions (venv-main): $(in_chroot $CHECK/venv-main/bin/python -c "$versions" numpy ai-edge-litert onnxruntime)"
  echo "versions (venv-tflrt): $(in_chroot $CHECK/venv-tflrt/bin/python -c "$versions" numpy tflite-runtime)"
  echo "total $(secs "$started" "$(now)") s"
} >>"$results"
cat "$results"
exit $status
