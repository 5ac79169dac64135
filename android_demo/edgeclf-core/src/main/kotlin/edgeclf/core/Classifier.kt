package edgeclf.core

/** One classified text: what went into the model, what came out, and the labels with their probabilities. */
class Prediction(
    val text: String,
    val tokenIds: IntArray,
    val modelInput: IntArray,
    val rawOutputs: FloatArray,
    val labels: List<String>,
    val probabilities: DoubleArray,
    val chosen: List<String>,
    val nanos: Long,
) {
    val scores: Map<String, Double> get() = labels.indices.associate { labels[it] to probabilities[it] }
}

/**
 * What an edgeclf bundle says about running its model: the tokenizer, the input rules and the score head,
 * read from `manifest.json` and the tokenizer's vocabulary file. Everything but the model file itself.
 *
 * Tokenizer kinds: `text_vectorization` (vocab.json = the vocabulary list, index 0 = padding, 1 = `[UNK]`) and
 * `keras_tokenizer` (the legacy Keras `Tokenizer`: vocab.json = the `word_index` object, and the spec's `filters`,
 * `lower`, `split`, `char_level`, `oov_id`, `output_sequence_length`, `padding`, `truncating`, as edgeclf
 * convert writes them; a whole `Tokenizer.to_json()` text, once or twice encoded, is read as well, with
 * `num_words`/`oov_token` from it or the spec).
 */
class BundleSpec(val tokenizer: Tokenizer, val input: InputRules, val head: ScoreHead, val manifest: Map<String, Any?>) {
    val labels: List<String> get() = head.labels

    /** The file of the default artifact (normally `model.tflite`). */
    val modelFile: String
        get() {
            val artifacts = manifest["artifacts"]?.asList("artifacts") ?: return "model.tflite"
            val name = manifest["default_artifact"]
            val chosen = artifacts.map { it.asMap("artifact") }.firstOrNull { it["name"] == name } ?: return "model.tflite"
            return chosen["file"] as String
        }

    val vocabularyFile: String get() = vocabularyFileOf(manifest)

    companion object {
        const val FORMAT = "edgeclf-bundle"
        const val FORMAT_VERSION = 1
        val KERAS_TOKENIZER_KEYS = setOf("num_words", "oov_token", "oov_id", "lower", "filters", "split", "char_level")

        /** Checks a bundle file against the size and sha256 that the manifest lists for it (as Python's Bundle does). */
        fun verify(manifest: Map<String, Any?>, name: String, bytes: ByteArray) {
            val record = manifest["files"]?.asMap("files")?.get(name)?.asMap(name)
                ?: throw IllegalArgumentException("$name is not listed in the manifest")
            val digest = java.security.MessageDigest.getInstance("SHA-256").digest(bytes)
            val hex = digest.joinToString("") { "%02x".format(it) }
            require(bytes.size == record["size"].asInt("size") && hex == record["sha256"]) {
                "$name does not match its sha256 in the manifest (corrupted or modified)"
            }
        }

        fun vocabularyFileOf(manifest: Map<String, Any?>): String =
            (manifest["tokenizer"].asMap("tokenizer")["vocabulary_file"] ?: "vocab.json") as String

        fun parseManifest(manifestJson: String): Map<String, Any?> {
            val manifest = Json.parse(manifestJson).asMap("manifest.json")
            require(manifest["format"] == FORMAT) { "manifest.json: not an edgeclf manifest" }
            val version = manifest["format_version"]
            require(version is Long && version <= FORMAT_VERSION) {
                "bundle format version $version; this app reads up to $FORMAT_VERSION"
            }
            return manifest
        }

        /** [manifestJson]: manifest.json's text; [vocabularyJson]: the text of the file it names as the vocabulary. */
        fun parse(manifestJson: String, vocabularyJson: String): BundleSpec {
            val manifest = parseManifest(manifestJson)
            val spec = manifest["tokenizer"].asMap("tokenizer")
            val tokenizer = tokenizerFrom(spec, vocabularyJson)
            return BundleSpec(tokenizer, InputRules.fromManifest(manifest), ScoreHead.fromManifest(manifest), manifest)
        }

        fun tokenizerFrom(spec: Map<String, Any?>, vocabularyJson: String): Tokenizer = when (spec["kind"]) {
            "text_vectorization" -> TextVectorizer.fromSpec(
                spec,
                Json.parse(vocabularyJson).asList("vocabulary").map { it as String },
            )
            "keras_tokenizer" -> {
                // edgeclf convert writes the word_index (only the usable words) and the settings in the spec; a
                // Tokenizer.to_json() file (once or twice encoded) is read too, the spec's keys winning.
                val overrides = spec.filterKeys { it in KERAS_TOKENIZER_KEYS }
                var root = Json.parse(vocabularyJson)
                if (root is String) root = Json.parse(root)
                val map = root.asMap("vocabulary")
                if (map["config"] is Map<*, *>) {
                    KerasTokenizer.fromTokenizerJson(vocabularyJson, overrides)
                } else {
                    KerasTokenizer.fromConfig(overrides, KerasTokenizer.wordIndexFrom(map))
                }
            }
            else -> throw IllegalArgumentException("unsupported tokenizer kind ${spec["kind"]}")
        }
    }
}

/** The whole pipeline around a [ModelRunner]: text → ids → model input → raw outputs → probabilities → labels. */
class TextClassifier(val spec: BundleSpec, val runner: ModelRunner) : AutoCloseable {
    fun classify(text: String): Prediction {
        val started = System.nanoTime()
        val ids = spec.tokenizer.tokenIds(text)
        val input = spec.input.modelInput(ids, runner.dynamicLength)
        val raw = runner.run(input)
        val probabilities = spec.head.probabilities(raw)
        val chosen = spec.head.chosen(probabilities)
        return Prediction(text, ids, input, raw, spec.labels, probabilities, chosen, System.nanoTime() - started)
    }

    override fun close() = runner.close()
}
