"""Shared fixtures: the real example model, its real converted bundle, real IMDB reviews."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SMALL_BUNDLE = REPO / "tests" / "fixtures" / "bundles" / "imdb_small"
# markers whose tests run only when asked for by name (`pytest -m endurance`); collected and skipped otherwise
OPT_IN_MARKERS = {"endurance": "endurance run: select it with `pytest -m endurance`"}


@pytest.fixture(scope="session")
def example_model_path() -> Path:
    from edgeclf.convert.pipeline import EXAMPLE_DIR

    return EXAMPLE_DIR / "model.keras"


@pytest.fixture(scope="session")
def keras_model(example_model_path):
    from edgeclf.convert.keras_reader import load_keras_model

    return load_keras_model(example_model_path)


@pytest.fixture(scope="session")
def imdb_split():
    from edgeclf.convert.datasets import imdb_split

    return imdb_split()


@pytest.fixture(scope="session")
def example_bundle(tmp_path_factory, request) -> Path:
    """The example converted once for the whole session, with its shipped held-out reviews as parity texts.

    ``EDGECLF_TEST_BUNDLE`` names one converted elsewhere instead: the runtime's tests then need no TensorFlow
    (the arm64 check runs them in a chroot that has none, and so does the tflite-runtime venv)."""
    if os.environ.get("EDGECLF_TEST_BUNDLE"):
        return Path(os.environ["EDGECLF_TEST_BUNDLE"])
    from edgeclf.convert.pipeline import convert, parity_texts_for_example

    out = tmp_path_factory.mktemp("bundles") / "imdb"
    convert(
        request.getfixturevalue("example_model_path"),
        out,
        parity_texts=parity_texts_for_example(),
        parity_source="heldout.csv",
        progress=lambda message: None,
    )
    return out


@pytest.fixture(scope="session")
def heldout_texts() -> list[str]:
    """The example's 200 held-out IMDB reviews (real texts of every length)."""
    with (REPO / "convert/examples/imdb_bilstm/heldout.csv").open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    """A small real bundle committed in tests/fixtures/bundles (made by make_small_bundle.py there), for tests that
    need *a* bundle rather than the example model: no TensorFlow conversion to wait for. A copy, so nothing a test
    or the runtime writes beside a bundle lands in the repository."""
    copy = tmp_path_factory.mktemp("small") / SMALL_BUNDLE.name
    shutil.copytree(SMALL_BUNDLE, copy)
    return copy


@pytest.fixture
def bundle_copy(small_bundle, tmp_path) -> Path:
    """A private copy of the small bundle, for tests that damage or edit it."""
    copy = tmp_path / "bundle"
    shutil.copytree(small_bundle, copy)
    return copy


@pytest.fixture(scope="session")
def goldens(tmp_path_factory, example_bundle) -> tuple[Path, dict[str, int]]:
    """The golden vectors of android_demo/tools/make_android_goldens.py, written once per session: the Kotlin
    core (tests/android/test_android_jvm.py) and the web page's JavaScript core (tests/web/test_web_tokenizer.py) read
    them."""
    import sys
    import time

    sys.path.insert(0, str(REPO / "android_demo" / "tools"))
    from make_android_goldens import make_goldens

    out = tmp_path_factory.mktemp("android-goldens")
    started = time.perf_counter()
    counts = make_goldens(out, example_bundle)
    print(f"\ngoldens: {sum(counts.values())} texts in {len(counts)} sets in {time.perf_counter() - started:.1f} s")
    return out, counts


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Opt-in markers skip their tests unless ``-m`` names them. ``EDGECLF_TEST_BACKENDS=a,b``: cases parametrized
    with another backend are deselected, not skipped (the tflite-runtime venv and the arm64 check run
    tests/runtime/test_backends.py one backend at a time)."""
    asked_for = config.getoption("markexpr") or ""
    for item in items:
        for marker, reason in OPT_IN_MARKERS.items():
            if marker not in asked_for and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
    wanted = {b.strip() for b in os.environ.get("EDGECLF_TEST_BACKENDS", "").split(",") if b.strip()}
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        backend = params.get("backend") or (params.get("case") or (None,))[0]  # test_backends.py's case: a pair
        (drop if backend is not None and backend not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
