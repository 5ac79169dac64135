"""The pure-Python tokenizer equals the real Keras TextVectorization layer, token for token."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeclf.convert.keras_reader import read_network
from edgeclf.tokenizer import TextVectorizer

ADVERSARIAL = [
    "",
    " ",
    "\t\n\r\x0b\x0c  ",
    string.punctuation,
    "".join(f"a{c}b " for c in string.punctuation),
    "Don't STOP... it's <br /><br />the BEST film!!!",
    "CAFÉ Café café É",  # TextVectorization lowercases ASCII only
    "İSTANBUL ıi KELVIN \u212a ẞ ß Σίσυφος",
    "non\u00a0breaking\u2009thin\u3000ideographic\u200bzero-width\u2028line\u0085nel\x1csep",
    "em—dash «quotes» ¿qué? ¡sí! …",
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 great",
    "中文文本分类 很好看的电影 日本語 한국어",
    "עברית العربية हिन्दी ไทย",
    "combining e\u0301 a\u0308 fullwidth ＡＢＣ ligature ﬁ",
    "tabs\tbetween\twords\nand\nnewlines\r\nwindows",
    "the movie the movie THE MOVIE The Movie",
    "x" * 100_000,
    ("great film " * 10_000).strip(),
    "a" + " " * 50_000 + "b",
]


@pytest.fixture(scope="module")
def layer(keras_model):
    (text_vectorization,) = [la for la in keras_model.layers if type(la).__name__ == "TextVectorization"]
    return text_vectorization


@pytest.fixture(scope="module")
def tokenizer(keras_model) -> TextVectorizer:
    return read_network(keras_model)[1]


def keras_ids(layer, texts: list[str]) -> list[list[int]]:
    """The layer's ids per text, padding removed (id 0 is never a real token)."""
    out = np.asarray(layer(np.asarray(texts, dtype=object)))
    return [[int(i) for i in row if i != 0] for row in out.reshape(len(texts), -1)]


def ours(tokenizer: TextVectorizer, texts: list[str]) -> list[list[int]]:
    return [tokenizer.token_ids(t).tolist() for t in texts]


def test_vocabulary_matches_layer(layer, tokenizer):
    assert tokenizer.vocabulary == [str(t) for t in layer.get_vocabulary()]
    assert tokenizer.vocabulary[:2] == ["", "[UNK]"]
    assert len(tokenizer.vocabulary) == 1000


def test_identical_on_2000_real_reviews(layer, tokenizer, imdb_split):
    train, _ = imdb_split
    texts = train.texts[:2000]
    mismatches = []
    for start in range(0, len(texts), 200):
        chunk = texts[start : start + 200]
        for text, k, o in zip(chunk, keras_ids(layer, chunk), ours(tokenizer, chunk), strict=True):
            if k != o:
                mismatches.append(text[:80])
    assert mismatches == []


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_identical_on_adversarial_strings(layer, tokenizer, text):
    # a lone empty/whitespace text gives Keras a zero-width batch; pad it with a real word to compare
    k, _ = keras_ids(layer, [text, "film"])
    assert ours(tokenizer, [text])[0] == k


def test_ascii_only_lowercase_and_punctuation(tokenizer):
    assert tokenizer.tokens("CAFÉ Don't <br />STOP—now") == ["cafÉ", "dont", "br", "stop—now"]


unicode_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([*list(string.printable), "\xa0", "\u2009", "\u3000", "\x85", "É", "ß", "İ", "—", "😀"]),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(unicode_text, min_size=1, max_size=8))
def test_identical_on_generated_unicode(layer, tokenizer, texts):
    k = keras_ids(layer, [*texts, "film"])[:-1]
    assert ours(tokenizer, texts) == k


# --- the legacy keras.preprocessing.text.Tokenizer + pad_sequences ---------------------------------------


@pytest.fixture(scope="module")
def legacy_pair(imdb_split):
    """A real tf-keras Tokenizer fitted on 3,000 reviews, and edgeclf's reading of its to_json()."""
    tf_keras = pytest.importorskip("tf_keras", reason="tf-keras reads Keras-2 models (edgeclf[convert])")
    from edgeclf.convert.tokenizer_files import read_keras_tokenizer

    keras_tokenizer = tf_keras.preprocessing.text.Tokenizer(num_words=500, oov_token="<OOV>")
    keras_tokenizer.fit_on_texts(imdb_split[0].texts[:3000])
    return keras_tokenizer, read_keras_tokenizer, tf_keras.preprocessing.sequence.pad_sequences


@pytest.mark.parametrize("padding,truncating", [("pre", "pre"), ("post", "post"), ("pre", "post"), ("post", "pre")])
@pytest.mark.parametrize("encoding", ["plain", "double"])
def test_legacy_tokenizer_identical(legacy_pair, imdb_split, tmp_path, padding, truncating, encoding):
    keras_tokenizer, read_keras_tokenizer, pad_sequences = legacy_pair
    payload = keras_tokenizer.to_json()
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(payload) if encoding == "double" else payload)  # users save it both ways
    ours = read_keras_tokenizer(path, maxlen=60, padding=padding, truncating=truncating)
    texts = [*imdb_split[1].texts[:500], *ADVERSARIAL[:-3], "ÉCOLE Straße İstanbul ΣΊΣΥΦΟΣ"]
    expected = pad_sequences(keras_tokenizer.texts_to_sequences(texts), maxlen=60, padding=padding,
                             truncating=truncating)  # fmt: skip
    assert np.array_equal(ours.encode_batch(texts), expected)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(unicode_text, min_size=1, max_size=6))
def test_legacy_tokenizer_on_generated_unicode(legacy_pair, tmp_path_factory, texts):
    keras_tokenizer, read_keras_tokenizer, pad_sequences = legacy_pair
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    path.write_text(keras_tokenizer.to_json())
    ours = read_keras_tokenizer(path, maxlen=20, padding="post", truncating="post")
    expected = pad_sequences(keras_tokenizer.texts_to_sequences(texts), maxlen=20, padding="post", truncating="post")
    assert np.array_equal(ours.encode_batch(texts), expected)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/edgeclf-pwned",))


def test_pickled_tokenizer_refused_by_default_and_exploit_blocked(tmp_path, legacy_pair):
    import pickle

    from edgeclf.convert.tokenizer_files import read_keras_tokenizer
    from edgeclf.errors import EdgeclfError

    keras_tokenizer = legacy_pair[0]
    good = tmp_path / "tokenizer.pkl"
    good.write_bytes(pickle.dumps(keras_tokenizer))
    with pytest.raises(EdgeclfError, match="allow-pickle"):
        read_keras_tokenizer(good, maxlen=10)
    ours = read_keras_tokenizer(good, maxlen=10, allow_pickle=True)  # the allow-list admits the Tokenizer class
    assert ours.word_index == {w: i for w, i in keras_tokenizer.word_index.items() if i < 500}

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Exploit()))
    marker = Path("/tmp/edgeclf-pwned")
    marker.unlink(missing_ok=True)
    with pytest.raises(EdgeclfError, match=r"refusing to unpickle (posix|os)\.system"):
        read_keras_tokenizer(evil, maxlen=10, allow_pickle=True)
    assert not marker.exists()
