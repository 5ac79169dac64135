package edgeclf.core

/** Text → token ids, before any padding: the part of the pipeline that a bundle's tokenizer spec describes. */
interface Tokenizer {
    /** The tokens of [text], in order (before the vocabulary lookup). */
    fun tokens(text: String): List<String>

    /** The ids of [text]'s tokens (unknown words handled as the tokenizer does); never padded. */
    fun tokenIds(text: String): IntArray
}

/** The code points of [s] as strings, as Python's `list(s)` gives them (a surrogate pair stays one item). */
internal fun codePointStrings(s: String): List<String> {
    val out = ArrayList<String>(s.length)
    var i = 0
    while (i < s.length) {
        val cp = s.codePointAt(i)
        val n = Character.charCount(cp)
        out.add(s.substring(i, i + n))
        i += n
    }
    return out
}

/**
 * Keras `TextVectorization(output_mode="int")` as it runs on the TF backend, token for token (the same
 * semantics as edgeclf/tokenizer.py): lowercasing of ASCII A–Z only, deletion of the 32 ASCII punctuation
 * characters only, splitting on runs of ASCII whitespace only (space, \t, \n, \v, \f, \r); 0 = padding,
 * 1 = `[UNK]`; truncation to `output_sequence_length` keeps the first tokens.
 */
class TextVectorizer(
    val vocabulary: List<String>,
    val standardize: String? = "lower_and_strip_punctuation",
    val split: String? = "whitespace",
    val outputSequenceLength: Int? = null,
) : Tokenizer {
    private val index = HashMap<String, Int>(vocabulary.size * 2)

    init {
        require(standardize in STANDARDIZE_MODES) { "unsupported TextVectorization standardize=$standardize" }
        require(split in SPLIT_MODES) { "unsupported TextVectorization split=$split" }
        require(vocabulary.size >= 2 && vocabulary[0] == "" && vocabulary[1] == "[UNK]") {
            "vocabulary must start with the padding token '' and '[UNK]'"
        }
        vocabulary.forEachIndexed { i, token -> index.putIfAbsent(token, i) } // the first occurrence wins
        index.remove("") // an empty token never occurs after splitting
    }

    fun standardized(text: String): String {
        var s = text
        if (standardize == "lower" || standardize == "lower_and_strip_punctuation") {
            val chars = s.toCharArray()
            for (i in chars.indices) if (chars[i] in 'A'..'Z') chars[i] = chars[i] + 32
            s = String(chars)
        }
        if (standardize == "strip_punctuation" || standardize == "lower_and_strip_punctuation") {
            val sb = StringBuilder(s.length)
            for (c in s) if (!isAsciiPunctuation(c)) sb.append(c)
            s = sb.toString()
        }
        return s
    }

    override fun tokens(text: String): List<String> {
        val s = standardized(text)
        return when (split) {
            "whitespace" -> splitAsciiWhitespace(s)
            "character" -> codePointStrings(s) // tf.strings.unicode_split: one token per code point
            else -> listOf(s)
        }
    }

    override fun tokenIds(text: String): IntArray {
        val tokens = tokens(text)
        val n = outputSequenceLength?.let { minOf(it, tokens.size) } ?: tokens.size
        return IntArray(n) { index[tokens[it]] ?: OOV_ID }
    }

    companion object {
        const val PAD_ID = 0
        const val OOV_ID = 1
        val STANDARDIZE_MODES = setOf("lower_and_strip_punctuation", "lower", "strip_punctuation", null)
        val SPLIT_MODES = setOf("whitespace", "character", null)
        private const val PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

        fun isAsciiPunctuation(c: Char): Boolean = PUNCTUATION.indexOf(c) >= 0

        fun isAsciiWhitespace(c: Char): Boolean =
            c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\u000C' || c == '\r'

        fun splitAsciiWhitespace(s: String): List<String> {
            val out = ArrayList<String>()
            var start = -1
            for (i in s.indices) {
                if (isAsciiWhitespace(s[i])) {
                    if (start >= 0) out.add(s.substring(start, i))
                    start = -1
                } else if (start < 0) {
                    start = i
                }
            }
            if (start >= 0) out.add(s.substring(start))
            return out
        }

        /** From a bundle manifest's `tokenizer` section (kind `text_vectorization`) and its vocab.json list. */
        fun fromSpec(spec: Map<String, Any?>, vocabulary: List<String>): TextVectorizer {
            require(spec["kind"] == "text_vectorization") { "not a text_vectorization spec: ${spec["kind"]}" }
            val ngrams = spec["ngrams"]
            require(ngrams == null || ngrams.asInt("ngrams") == 1) { "unsupported TextVectorization ngrams=$ngrams" }
            spec["vocab_size"]?.let {
                require(it.asInt("vocab_size") == vocabulary.size) {
                    "vocabulary has ${vocabulary.size} entries, the manifest says $it"
                }
            }
            return TextVectorizer(
                vocabulary = vocabulary,
                standardize = spec["standardize"] as String?,
                split = spec["split"] as String?,
                outputSequenceLength = spec["output_sequence_length"]?.asInt("output_sequence_length"),
            )
        }
    }
}

/**
 * The legacy Keras `Tokenizer` (keras.preprocessing.text / tf_keras), `texts_to_sequences` for one text:
 * Python's full `str.lower()` when `lower`, every character of `filters` replaced by `split`, then
 * `str.split(split)` without the empty pieces (default filters hold \t and \n but not \r, \v, \f or
 * Unicode spaces); with `char_level`, one token per code point and no filtering. A word whose index is
 * `>= num_words` (when num_words is set), or that is not in `word_index`, becomes [oovIndex] (the index
 * `word_index` gives the OOV token, even when a real word overwrote it), or is dropped when there is none.
 */
class KerasTokenizer(
    val wordIndex: Map<String, Int>,
    val oovIndex: Int? = null,
    val numWords: Int? = null,
    val lower: Boolean = true,
    val filters: String = DEFAULT_FILTERS,
    val split: String = " ",
    val charLevel: Boolean = false,
) : Tokenizer {
    private val filterCodePoints: Set<Int> = filters.codePoints().toArray().toSet()

    init {
        require(split.isNotEmpty() || charLevel) { "Tokenizer split must not be empty" }
    }

    /** Python's `str.lower()` ([PythonLower]: Python's own table, not the device's; İ → i̇, final sigma). */
    fun lowered(text: String): String = if (lower) PythonLower.lower(text) else text

    override fun tokens(text: String): List<String> {
        val s = lowered(text)
        if (charLevel) return codePointStrings(s)
        val sb = StringBuilder(s.length)
        var i = 0
        while (i < s.length) {
            val cp = s.codePointAt(i)
            if (cp in filterCodePoints) sb.append(split) else sb.appendCodePoint(cp)
            i += Character.charCount(cp)
        }
        return sb.toString().split(split).filter { it.isNotEmpty() }
    }

    override fun tokenIds(text: String): IntArray {
        val out = ArrayList<Int>()
        for (word in tokens(text)) {
            val i = wordIndex[word]
            if (i != null && (numWords == null || numWords == 0 || i < numWords)) {
                out.add(i)
            } else if (oovIndex != null) {
                out.add(oovIndex)
            }
        }
        return out.toIntArray()
    }

    companion object {
        const val DEFAULT_FILTERS = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"

        /** A `word_index` JSON object ({"word": index, ...}), or the JSON text of one. */
        fun wordIndexFrom(value: Any?): Map<String, Int> {
            val parsed = if (value is String) Json.parse(value) else value
            val map = parsed.asMap("word_index")
            val out = HashMap<String, Int>(map.size * 2)
            for ((k, v) in map) out[k] = v.asInt("word_index[$k]")
            return out
        }

        /**
         * The text `Tokenizer.to_json()` writes, also when it was JSON-encoded a second time (a JSON string
         * holding that text), as several published models store it. Its `word_index` may itself be a string.
         */
        fun fromTokenizerJson(text: String, overrides: Map<String, Any?> = emptyMap()): KerasTokenizer {
            var root = Json.parse(text)
            if (root is String) root = Json.parse(root)
            val config = root.asMap("tokenizer json")["config"].asMap("tokenizer config")
            return fromConfig(config + overrides, wordIndexFrom(config["word_index"]))
        }

        /**
         * From a config with Keras' key names (num_words, oov_token, lower, filters, split, char_level) or an
         * edgeclf manifest's `keras_tokenizer` spec (`oov_id`: the OOV index itself, which wins over oov_token).
         */
        fun fromConfig(config: Map<String, Any?>, wordIndex: Map<String, Int>): KerasTokenizer = KerasTokenizer(
            wordIndex = wordIndex,
            oovIndex = if ("oov_id" in config) {
                config["oov_id"]?.asInt("oov_id")
            } else {
                (config["oov_token"] as String?)?.let { wordIndex[it] }
            },
            numWords = config["num_words"]?.asInt("num_words"),
            lower = (config["lower"] ?: true) as Boolean,
            filters = (config["filters"] ?: DEFAULT_FILTERS) as String,
            split = (config["split"] ?: " ") as String,
            charLevel = (config["char_level"] ?: false) as Boolean,
        )
    }
}
