package edgeclf.core

/**
 * How token ids become the model's input (a bundle manifest's `input` section), as edgeclf/runtime.py does:
 * - ids longer than `sequence_length` are truncated, keeping the first (`truncating = post`) or the last (`pre`);
 * - a masked model whose artifact takes a dynamic length ([1, None]) runs each text at its true length, so no
 *   padding reaches the recurrent layers;
 * - otherwise a model with a fixed `sequence_length` gets exactly that many ids, padded with `pad_id` after
 *   (`padding = post`) or before (`pre`) the tokens;
 * - a text without tokens runs as one padding token wherever the length is free.
 */
class InputRules(
    val masked: Boolean,
    val sequenceLength: Int?,
    val padding: String = "post",
    val truncating: String = "post",
    val padId: Int = 0,
) {
    init {
        require(padding == "post" || padding == "pre") { "padding must be 'pre' or 'post', not '$padding'" }
        require(truncating == "post" || truncating == "pre") { "truncating must be 'pre' or 'post', not '$truncating'" }
        require(sequenceLength == null || sequenceLength > 0) { "sequence_length must be positive" }
    }

    fun truncated(ids: IntArray): IntArray {
        val n = sequenceLength ?: return ids
        if (ids.size <= n) return ids
        return if (truncating == "post") ids.copyOfRange(0, n) else ids.copyOfRange(ids.size - n, ids.size)
    }

    /** The ids the artifact is fed for a text whose token ids are [ids]; [dynamicLength]: its input is [1, None]. */
    fun modelInput(ids: IntArray, dynamicLength: Boolean): IntArray {
        val x = truncated(ids)
        val length = sequenceLength
        if ((dynamicLength && masked) || length == null) return if (x.isEmpty()) intArrayOf(padId) else x
        if (x.size == length) return x
        val out = IntArray(length) { padId }
        x.copyInto(out, if (padding == "post") 0 else length - x.size)
        return out
    }

    companion object {
        /**
         * From a manifest: `input` (masked, sequence_length, padding, truncating, pad_id), where a tokenizer spec
         * that carries its own `output_sequence_length` / `padding` / `truncating` (the legacy Keras Tokenizer +
         * pad_sequences) wins, as edgeclf's runtime pads with the tokenizer's sides.
         */
        fun fromManifest(manifest: Map<String, Any?>): InputRules {
            val input = manifest["input"].asMap("input")
            val tokenizer = manifest["tokenizer"]?.asMap("tokenizer") ?: emptyMap()
            fun side(key: String) = (tokenizer[key] ?: input[key] ?: "post") as String
            return InputRules(
                masked = input["masked"] as Boolean,
                sequenceLength = (tokenizer["output_sequence_length"] ?: input["sequence_length"])?.asInt("sequence_length"),
                padding = side("padding"),
                truncating = side("truncating"),
                padId = (input["pad_id"] ?: tokenizer["pad_id"])?.asInt("pad_id") ?: 0,
            )
        }
    }
}
