package edgeclf.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Test

/** Hand-written cases for the parts the goldens reach only indirectly. */
class CoreTest {
    @Test
    fun jsonParsesNestedValuesEscapesAndNumbers() {
        val v = Json.parse("""{"a": [1, -2.5e1, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "n": {}}""").asMap("v")
        assertEquals(listOf(1L, -25.0, true, false, null), v["a"])
        assertEquals("x\"\\/\né😀", v["s"])
        assertEquals(emptyMap<String, Any?>(), v["n"])
        assertThrows(IllegalArgumentException::class.java) { Json.parse("{\"a\": 1,}") }
        assertThrows(IllegalArgumentException::class.java) { Json.parse("[1] 2") }
    }

    @Test
    fun textVectorizerLowercasesAsciiOnlyAndSplitsOnAsciiWhitespaceOnly() {
        val t = TextVectorizer(listOf("", "[UNK]", "café", "cafÉ", "a\u00a0b", "dont"))
        assertEquals(listOf("cafÉ", "café", "a\u00a0b", "dont"), t.tokens("CAFÉ café\tA\u00a0B\u000bDON'T"))
        assertArrayEquals(intArrayOf(3, 2, 4, 5, 1), t.tokenIds("CAFÉ café\tA\u00a0B\u000bDON'T other"))
        assertArrayEquals(intArrayOf(), t.tokenIds(" \t\n!?"))
        val short = TextVectorizer(listOf("", "[UNK]", "a"), outputSequenceLength = 2)
        assertArrayEquals(intArrayOf(2, 1), short.tokenIds("a b a"))
    }

    @Test
    fun textVectorizerCharacterSplitKeepsSurrogatePairs() {
        val t = TextVectorizer(listOf("", "[UNK]", "😀", "a"), standardize = "lower", split = "character")
        assertEquals(listOf("a", "😀", " ", "!"), t.tokens("A😀 !"))
        assertArrayEquals(intArrayOf(3, 2, 1, 1), t.tokenIds("A😀 !"))
    }

    @Test
    fun kerasTokenizerNumWordsOovAndFilters() {
        val index = mapOf("<OOV>" to 1, "the" to 2, "film" to 3, "rare" to 9, "a\rb" to 4, "İ".lowercase() to 5)
        val t = KerasTokenizer(index, oovIndex = 1, numWords = 5)
        assertEquals(listOf("the", "film", "rare", "a\rb", "unknown"), t.tokens("The FILM,rare\ta\rB (unknown)"))
        assertArrayEquals(intArrayOf(2, 3, 1, 4, 1), t.tokenIds("The FILM,rare\ta\rB (unknown)"))
        val noOov = KerasTokenizer(index, numWords = 5)
        assertArrayEquals(intArrayOf(2, 3, 4), noOov.tokenIds("The FILM,rare\ta\rB (unknown)"))
        assertEquals(listOf("i\u0307", "ος"), KerasTokenizer(index).tokens("İ ΟΣ")) // Python's str.lower()
        val chars = KerasTokenizer(mapOf("a" to 1, "!" to 2), charLevel = true)
        assertArrayEquals(intArrayOf(1, 2), chars.tokenIds("A!?"))
    }

    @Test
    fun kerasTokenizerReadsDoubleEncodedJson() {
        val inner = """{"class_name": "Tokenizer", "config": {"num_words": null, "filters": "!", "lower": false, "split": " ", "char_level": false, "oov_token": "<OOV>", "word_index": "{\"<OOV>\": 1, \"Hi\": 2}"}}"""
        val outer = "\"" + inner.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
        for (text in listOf(inner, outer)) {
            val t = KerasTokenizer.fromTokenizerJson(text)
            assertArrayEquals(intArrayOf(2, 1, 1), t.tokenIds("Hi! hi x,y"))
        }
    }

    @Test
    fun manifestKerasTokenizerSpecAsEdgeclfConvertWritesIt() {
        val manifest = """{"format": "edgeclf-bundle", "format_version": 1, "task": "binary", "labels": ["ham", "spam"],
            "output": {"units": 1, "logits": false, "threshold": 0.5},
            "input": {"masked": false, "sequence_length": 4, "padding": "post", "truncating": "post", "pad_id": 0},
            "tokenizer": {"kind": "keras_tokenizer", "filters": "!", "lower": true, "split": " ", "char_level": false,
                          "oov_id": 1, "output_sequence_length": 3, "padding": "pre", "truncating": "pre",
                          "vocab_size": 3, "vocabulary_file": "vocab.json"}}"""
        val spec = BundleSpec.parse(manifest, """{"<OOV>": 1, "hi": 2, "there": 3}""")
        val ids = spec.tokenizer.tokenIds("Hi! you there hi")
        assertArrayEquals(intArrayOf(2, 1, 3, 2), ids)
        assertArrayEquals(intArrayOf(1, 3, 2), spec.input.modelInput(ids, false)) // truncating pre, from the spec
        assertArrayEquals(intArrayOf(0, 0, 2), spec.input.modelInput(intArrayOf(2), false)) // padding pre
    }

    @Test
    fun inputRulesPadAndTruncateOnEitherSide() {
        val ids = intArrayOf(5, 6, 7, 8)
        assertArrayEquals(intArrayOf(5, 6, 7), InputRules(false, 3, "post", "post").modelInput(ids, false))
        assertArrayEquals(intArrayOf(6, 7, 8), InputRules(false, 3, "post", "pre").modelInput(ids, false))
        assertArrayEquals(intArrayOf(0, 0, 5, 6, 7, 8), InputRules(false, 6, "pre", "pre").modelInput(ids, false))
        assertArrayEquals(intArrayOf(5, 6, 7, 8, 0, 0), InputRules(false, 6, "post", "pre").modelInput(ids, false))
        assertArrayEquals(intArrayOf(0, 0, 0), InputRules(false, 3).modelInput(intArrayOf(), false))
        // masked + dynamic input: true length, one padding token for an empty text
        assertArrayEquals(ids, InputRules(true, 6).modelInput(ids, true))
        assertArrayEquals(intArrayOf(6, 7, 8), InputRules(true, 3, "pre", "pre").modelInput(ids, true))
        assertArrayEquals(intArrayOf(0), InputRules(true, null).modelInput(intArrayOf(), true))
        assertArrayEquals(intArrayOf(0), InputRules(false, null).modelInput(intArrayOf(), false))
    }

    @Test
    fun scoreHeads() {
        val binary = ScoreHead("binary", listOf("negative", "positive"), outputsLogits = true)
        val p = binary.probabilities(floatArrayOf(0f))
        assertArrayEquals(doubleArrayOf(0.5, 0.5), p, 0.0)
        assertEquals(listOf("negative"), binary.chosen(p)) // the first on a tie, like numpy's argmax
        assertEquals(1.0, binary.probabilities(floatArrayOf(1000f))[1], 0.0)
        assertEquals(0.0, binary.probabilities(floatArrayOf(-1000f))[1], 0.0)
        val multi = ScoreHead("multiclass", listOf("a", "b", "c"), outputsLogits = true)
        val s = multi.probabilities(floatArrayOf(1f, 3f, 2f))
        assertEquals(1.0, s.sum(), 1e-12)
        assertEquals(listOf("b"), multi.chosen(s))
        val tags = ScoreHead("multilabel", listOf("x", "y", "z"), outputsLogits = false, threshold = 0.5)
        assertEquals(listOf("x", "z"), tags.chosen(tags.probabilities(floatArrayOf(0.5f, 0.49f, 0.9f))))
        assertThrows(IllegalArgumentException::class.java) { tags.probabilities(floatArrayOf(0.1f)) }
    }
}
