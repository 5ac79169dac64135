#!/usr/bin/env bash
# Run the edgeclf runtime on a Raspberry Pi OS bookworm userland under qemu emulation and compare every
# backend's predictions with x86_64's on the example's 200 held-out IMDB reviews, and run the runtime's
# tests (tests/runtime/test_backends.py, tests/runtime/test_runtime_without_tf.py) there with pytest, for each backend.
#
#   ARCH=arm64 (default): 64-bit Pi OS; backends litert, onnxruntime, numpy, tflite-runtime.
#   ARCH=armhf: 32-bit Pi OS (armv7); backends numpy (Debian's python3-numpy) and tflite-runtime 2.14 (the only
#               interpreter with armv7l wheels); no ai-edge-litert or onnxruntime wheels exist for armv7l.
#
#   sudo [ARCH=armhf] benchmarks/raspberry_pi/build_rootfs.sh [ROOT]   # once: 2–10 minutes
#   sudo [ARCH=armhf] benchmarks/raspberry_pi/run_in_arm.sh [ROOT]     # 10–30 minutes
#
# On the host (network: PyPI): builds the edgeclf wheel, converts the example (needs edgeclf[convert]),
# runs the x86 reference, writes the Keras reference the tests compare with, and downloads cp311 wheels for
# the target (pytest too). In the chroot (no network, no host /sys, no TensorFlow):
#   arm64: two venvs, `main` (numpy 2, ai-edge-litert, onnxruntime) and `tflrt` (numpy<2, tflite-runtime 2.14);
#   armhf: one venv `pi` over Debian's python3-numpy (--system-site-packages), where `pip install edgeclf`
#          runs with its dependencies, offline, as a Pi user's would; the bundle is converted with
#          --tflite-runtime-compatible (so tflite-runtime also runs the dynamic-range artifact), and a default
#          dynamic-range artifact must be refused with one `edgeclf: error:` line;
# then `edgeclf predict` per backend, on the bundle folder and on the single-file .tflite, and pytest per backend
# on that bundle (EDGECLF_TEST_EMULATED=1: 300 reviews, no 1 MB text). The tests run against the installed
# wheel: only tests/ and pyproject.toml (pytest's settings) are copied in, never the source tree.
# Results: $ROOT/opt/edgeclf-check/results.{md,json} (also printed). Exit status 1 if any run differs or fails.
set -uo pipefail

ARCH="${ARCH:-arm64}"
case $ARCH in
  arm64)
    QEMU=aarch64 ROOT="${1:-${EDGECLF_ARM64_ROOTFS:-/work/arm64-rootfs}}" COMPAT=()
    BACKENDS="${BACKENDS:-litert onnxruntime numpy tflite-runtime}"
    PLATFORMS=(--platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64
      --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64)
    ;;
  armhf)
    QEMU=arm ROOT="${1:-${EDGECLF_ARMHF_ROOTFS:-/work/armhf-rootfs}}" COMPAT=(--tflite-runtime-compatible)
    BACKENDS="${BACKENDS:-numpy tflite-runtime}"
    PLATFORMS=(--platform manylinux_2_34_armv7l --platform manylinux2014_armv7l --platform linux_armv7l)
    ;;
  *) echo "run_in_arm.sh: ARCH must be arm64 or armhf, not $ARCH" >&2; exit 1 ;;
esac
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PYTHON:-python3}"  # a Python with edgeclf[convert] installed (TensorFlow for the conversion)
EDGECLF="$(dirname "$(command -v "$PY")")/edgeclf"
CHECK=/opt/edgeclf-check  # inside the chroot
WORK="$ROOT$CHECK"
HERE="$(cd "$(dirname "$0")" && pwd)"

die() { echo "run_in_arm.sh ($ARCH): $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot)"
[ -x "$ROOT/usr/bin/python3" ] || die "$ROOT has no $ARCH Python; run ARCH=$ARCH build_rootfs.sh first"
[ -e "/proc/sys/fs/binfmt_misc/qemu-$QEMU" ] || die "qemu-$QEMU is not registered with binfmt_misc; run build_rootfs.sh"
[ "$(chroot "$ROOT" /usr/bin/dpkg --print-architecture)" = "$ARCH" ] || die "$ROOT is not an $ARCH root filesystem"
in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 /usr/sbin/chroot "$ROOT" "$@"; }
now() { date +%s.%N; }
secs() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
venv_for() {  # the chroot venv that runs a backend
  if [ "$ARCH" = armhf ]; then echo venv-pi
  elif [ "$1" = tflite-runtime ]; then echo venv-tflrt
  else echo venv-main; fi
}

# the venvs survive between runs (only the edgeclf wheel is reinstalled); everything else is rebuilt
rm -rf "$WORK/out" "$WORK/bundle" "$WORK/bundle-default" "$WORK/wheels" "$WORK/suite" "$WORK/results.json"
mkdir -p "$WORK/wheels/main" "$WORK/wheels/tflrt" "$WORK/wheels/pi" "$WORK/out" "$WORK/suite/tests/runtime"
started=$(now)

# 1. Host: the edgeclf wheel (pure Python), the example bundle (+ single file), the x86 reference.
# built from a copy: setuptools writes build/ and *.egg-info into the source tree
src=$(mktemp -d)
tar -C "$REPO" --exclude=./.git --exclude=./build --exclude='*.egg-info' --exclude=./android_demo \
  --exclude='./.venv*' -cf - . | tar -C "$src" -xf -
"$PY" -m pip wheel -q --no-deps -w "$WORK/wheels/edgeclf" "$src" >"$WORK/wheel.log" 2>&1 \
  || die "building the edgeclf wheel failed (see $WORK/wheel.log)"
rm -rf "$src"
formats=
for wanted in tflite,onnx,numpy tflite,onnx tflite; do  # every format this checkout can write
  if "$EDGECLF" convert example -o "$WORK/bundle" --single-file --force --formats "$wanted" "${COMPAT[@]}" \
    >"$WORK/convert.log" 2>&1; then
    formats=$wanted
    break
  fi
done
[ -n "$formats" ] || die "converting the example failed: $(tail -1 "$WORK/convert.log")"
if [ "$ARCH" = armhf ]; then  # the control: a default dynamic-range artifact, which tflite-runtime 2.14 cannot open
  "$EDGECLF" convert example -o "$WORK/bundle-default" --force --formats tflite --quantize dynamic \
    >"$WORK/convert-default.log" 2>&1 || die "converting the default dynamic artifact failed (see $WORK/convert-default.log)"
fi
cp "$REPO/convert/examples/imdb_bilstm/heldout.csv" "$WORK/texts.csv"
cp "$HERE/tflite_runtime_probe.py" "$WORK/"
cp "$REPO/pyproject.toml" "$WORK/suite/"
cp "$REPO/tests/conftest.py" "$WORK/suite/tests/"
cp "$REPO/tests/runtime/test_backends.py" "$REPO/tests/runtime/test_runtime_without_tf.py" "$WORK/suite/tests/runtime/"
"$PY" "$REPO/tests/runtime/test_backends.py" --write-reference "$WORK/reference.json" >"$WORK/reference.log" 2>&1 \
  || die "writing the Keras reference failed (see $WORK/reference.log)"
"$EDGECLF" predict "$WORK/bundle" --input "$WORK/texts.csv" --format jsonl -o "$WORK/out/x86-default.jsonl" \
  || die "the x86 reference run failed"
if [ "$ARCH" = armhf ]; then  # the quantized artifact's own x86 reference (LiteRT)
  "$EDGECLF" predict "$WORK/bundle" --artifact tflite-dynamic --input "$WORK/texts.csv" --format jsonl \
    -o "$WORK/out/x86-tflite-dynamic.jsonl" || die "the x86 tflite-dynamic run failed"
fi
echo "host: wheel, bundle ($formats${COMPAT[*]:+, ${COMPAT[*]}}), x86 and Keras references in $(secs "$started" "$(now)") s"

# 2. Host: cp311 wheels for the target. arm64: pip --platform matches tags exactly (2_27 = ai-edge-litert 2.x,
#    2_28 = onnxruntime ≥ 1.29, 2_34 = tflite-runtime 2.14). armhf: only tflite-runtime 2.14 (manylinux_2_34_armv7l)
#    and pure-Python wheels; numpy is Debian's.
t=$(now)
if [ "$ARCH" = arm64 ]; then
  "$PY" -m pip download -q --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/main" 2>>"$WORK/download.log" \
    "numpy>=2" ai-edge-litert==2.3.0 onnxruntime pytest==9.2.0 || die "downloading the aarch64 wheels failed (see $WORK/download.log)"
  "$PY" -m pip download -q --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/tflrt" 2>>"$WORK/download.log" \
    "numpy<2" tflite-runtime==2.14.0 pytest==9.2.0 || die "downloading tflite-runtime failed (see $WORK/download.log)"
else
  # --no-deps for tflite-runtime: its numpy is Debian's; pytest and its dependencies are pure Python
  "$PY" -m pip download -q --no-deps --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/pi" \
    2>>"$WORK/download.log" tflite-runtime==2.14.0 || die "downloading tflite-runtime failed (see $WORK/download.log)"
  "$PY" -m pip download -q --only-binary=:all: "${PLATFORMS[@]}" --python-version 3.11 -d "$WORK/wheels/pi" \
    2>>"$WORK/download.log" pytest==9.2.0 || die "downloading pytest failed (see $WORK/download.log)"
fi
echo "host: $ARCH wheels downloaded in $(secs "$t" "$(now)") s"

# 3. Chroot, offline: the venvs.
t=$(now)
if [ "$ARCH" = arm64 ]; then
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
else
  # `pip install edgeclf` WITH its dependencies: numpy is satisfied by Debian's python3-numpy, and the
  # ai-edge-litert requirement must be skipped by its marker (no armv7l wheel exists); pip's log is kept.
  in_chroot /bin/sh -ec "
    cd $CHECK
    if ! venv-pi/bin/python -c 'import tflite_runtime, pytest' 2>/dev/null; then
      rm -rf venv-pi && python3 -m venv --system-site-packages venv-pi
      venv-pi/bin/pip install -q --no-index --find-links wheels/pi tflite-runtime==2.14.0 pytest==9.2.0
    fi
    venv-pi/bin/pip uninstall -q -y edgeclf 2>/dev/null || true
    venv-pi/bin/pip install --no-index --find-links wheels/edgeclf edgeclf >out/pip-install-edgeclf.log 2>&1
  " || die "installing inside the chroot failed: $(tail -2 "$WORK/out/pip-install-edgeclf.log" 2>/dev/null)"
  echo "chroot: venv ready in $(secs "$t" "$(now)") s ($(du -sh "$WORK/venv-pi" | cut -f1) pi)"
fi
machine=$(in_chroot "$CHECK/$(venv_for numpy)/bin/python" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')
echo "chroot: $machine"
installed=$(grep -h '^Successfully installed' "$WORK/out/pip-install-edgeclf.log" 2>/dev/null)
"$PY" -c 'import json, sys; json.dump({"chroot": dict(zip(("machine", "python", "arch", "pip_install_edgeclf"), sys.argv[1:]))},
  open(sys.argv[-1], "w"), indent=2)' $machine "$ARCH" "$installed" "$WORK/results.json"

# 4. Chroot: edgeclf predict per backend, on the folder and on the single file; timings are wall clock.
results="$WORK/results.md"
{
  echo "| backend | input | status | wall: 200 reviews | wall: one text (cold start) | ≈ per review after start |"
  echo "|---|---|---|---|---|---|"
} >"$results"
runs=() quantized=()
for backend in $BACKENDS; do
  venv=$(venv_for "$backend")
  targets=bundle
  case $backend in litert | tflite-runtime) targets="bundle bundle/model.edgeclf.tflite" ;; esac
  [ "$ARCH/$backend" = armhf/tflite-runtime ] && targets="$targets bundle:tflite-dynamic"
  for target in $targets; do
    artifact=() kind=folder
    case $target in
      *:*) artifact=(--artifact "${target#*:}") kind="${target#*:}" target="${target%%:*}" ;;
      bundle) ;;
      *) kind=single-file ;;
    esac
    out="out/$ARCH-$backend-$kind.jsonl"
    cmd=("$CHECK/$venv/bin/edgeclf" predict "$CHECK/$target" --backend "$backend" "${artifact[@]}")
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
    if [ "${#artifact[@]}" -gt 0 ]; then quantized+=("$WORK/$out"); else runs+=("$WORK/$out"); fi
  done
done
echo >>"$results"
"$PY" "$HERE/compare.py" "$WORK/out/x86-default.jsonl" "${runs[@]}" --json "$WORK/results.json" >>"$results"
status=$?
if [ "${#quantized[@]}" -gt 0 ]; then  # quantized: against x86's run of the same artifact; labels are what is held
  echo >>"$results"
  "$PY" "$HERE/compare.py" "$WORK/out/x86-tflite-dynamic.jsonl" "${quantized[@]}" --quantized --json "$WORK/results.json" \
    >>"$results" || status=1
fi
echo >>"$results"

# 4b. armhf: the refusal a Pi user sees for a default dynamic-range artifact: exit 1, one `edgeclf: error:` line.
if [ "$ARCH" = armhf ]; then
  in_chroot "$CHECK/venv-pi/bin/edgeclf" predict "$CHECK/bundle-default" --backend tflite-runtime "a wonderful film" \
    >"$WORK/out/refusal.stdout" 2>"$WORK/out/refusal.stderr"
  rc=$?
  "$PY" - "$rc" "$WORK/out/refusal.stderr" "$WORK/out/refusal.stdout" "$WORK/results.json" >>"$results" <<'EOF' || status=1
import json, sys
from pathlib import Path
rc, stderr, stdout = int(sys.argv[1]), Path(sys.argv[2]).read_text(), Path(sys.argv[3]).read_text()
lines = stderr.splitlines()
ok = (rc == 1 and stdout == "" and len(lines) == 1 and lines[0].startswith("edgeclf: error: ")
      and "tflite-runtime cannot load this model" in lines[0] and "FULLY_CONNECTED" in lines[0] and "Traceback" not in stderr)
results = json.loads(Path(sys.argv[4]).read_text())
results["refusal-tflite-dynamic-default"] = {"ok": ok, "exit_status": rc, "stderr_lines": len(lines), "stderr": stderr}
Path(sys.argv[4]).write_text(json.dumps(results, indent=2) + "\n")
print(f"default dynamic-range artifact on tflite-runtime: exit {rc}, {len(lines)} stderr line(s), ok={ok}:  ")
print(f"`{stderr.strip()[:400]}`")
sys.exit(0 if ok else 1)
EOF
  echo >>"$results"
fi

# 5. Chroot: the runtime's tests with pytest, per backend, against the host's bundle and Keras reference.
#    test_runtime_without_tf.py runs with each venv's default backend; its checks of pyproject's package list
#    and package data need the source tree, which is not copied in.
{
  echo "| pytest on $ARCH, backend | tests | passed | failed | errors | skipped | wall |"
  echo "|---|---|---|---|---|---|---|"
} >>"$results"
deselect="not venv_runs_this_suite and not every_package_is_installed and not every_runtime_data_file_is_packaged"
suites=()
for backend in $BACKENDS; do
  suites+=("$backend:bundle")
done
[ "$ARCH" = armhf ] && suites+=("tflite-runtime:bundle-default")  # the refused artifact, as test_backends.py checks it
for suite in "${suites[@]}"; do
  backend=${suite%%:*} bundle=${suite#*:}
  name=$backend
  files=("$CHECK/suite/tests/runtime/test_backends.py")
  select=$deselect
  if [ "$bundle" = bundle-default ]; then
    name="$backend-refusal" select="refused"
  else
    case $backend in litert | tflite-runtime) files+=("$CHECK/suite/tests/runtime/test_runtime_without_tf.py") ;; esac
  fi
  t=$(now)
  in_chroot /usr/bin/env EDGECLF_TEST_BUNDLE=$CHECK/$bundle EDGECLF_TEST_REFERENCE=$CHECK/reference.json \
    EDGECLF_TEST_BACKENDS="$backend" EDGECLF_TEST_EMULATED=1 \
    "$CHECK/$(venv_for "$backend")/bin/pytest" -q -p no:cacheprovider --rootdir "$CHECK/suite" \
    --junitxml "$CHECK/out/pytest-$name.xml" "${files[@]}" -k "$select" >"$WORK/out/pytest-$name.log" 2>&1
  wall=$(secs "$t" "$(now)")
  "$PY" "$HERE/junit_summary.py" "$WORK/out/pytest-$name.xml" "$name" "$wall" "$WORK/results.json" >>"$results" \
    || status=1
done
echo >>"$results"
versions='from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in __import__("sys").argv[1:]))'
{
  echo "chroot: $machine ($ARCH)"
  if [ "$ARCH" = arm64 ]; then
    echo "versions (venv-main): $(in_chroot $CHECK/venv-main/bin/python -c "$versions" numpy ai-edge-litert onnxruntime)"
    echo "versions (venv-tflrt): $(in_chroot $CHECK/venv-tflrt/bin/python -c "$versions" numpy tflite-runtime)"
  else
    echo "versions (venv-pi): $(in_chroot $CHECK/venv-pi/bin/python -c "$versions" numpy tflite-runtime edgeclf)"
    echo "pip install edgeclf (offline, with dependencies): $installed"
  fi
  echo "total $(secs "$started" "$(now)") s"
} >>"$results"
cat "$results"
exit $status
