package edgeclf.core

import kotlin.math.exp

/**
 * Raw model outputs → one probability per label, and the chosen label(s), as edgeclf/runtime.py computes them
 * (in double precision from the float32 outputs):
 * - binary (one unit): P(positive) = sigmoid(logit) for a logit head, the output itself otherwise;
 *   scores are [1 − P(positive), P(positive)] and the label is the larger one (the first on a tie);
 * - multiclass: softmax of the logits (or the outputs as they are), the label is the argmax;
 * - multilabel: sigmoid of each logit (or the outputs as they are); every label with score ≥ threshold.
 */
class ScoreHead(
    val task: String,
    val labels: List<String>,
    val outputsLogits: Boolean,
    val threshold: Double = 0.5,
) {
    init {
        require(task in TASKS) { "unknown task '$task' (expected one of $TASKS)" }
        require(task != "binary" || labels.size == 2) { "a binary model needs 2 labels, got ${labels.size}" }
    }

    fun probabilities(raw: FloatArray): DoubleArray {
        return when (task) {
            "binary" -> {
                require(raw.size == 1) { "a binary model has one output unit, got ${raw.size}" }
                val positive = if (outputsLogits) sigmoid(raw[0].toDouble()) else raw[0].toDouble()
                doubleArrayOf(1 - positive, positive)
            }
            "multilabel" -> {
                checkUnits(raw)
                DoubleArray(raw.size) { if (outputsLogits) sigmoid(raw[it].toDouble()) else raw[it].toDouble() }
            }
            else -> {
                checkUnits(raw)
                if (outputsLogits) softmax(raw) else DoubleArray(raw.size) { raw[it].toDouble() }
            }
        }
    }

    fun chosen(probabilities: DoubleArray): List<String> {
        if (task == "multilabel") return labels.filterIndexed { i, _ -> probabilities[i] >= threshold }
        var best = 0
        for (i in 1 until probabilities.size) if (probabilities[i] > probabilities[best]) best = i
        return listOf(labels[best])
    }

    private fun checkUnits(raw: FloatArray) =
        require(raw.size == labels.size) { "the model gives ${raw.size} outputs for ${labels.size} labels" }

    companion object {
        val TASKS = setOf("binary", "multiclass", "multilabel")

        /** The logistic function without overflow for large |z| (the same two branches as numpy's runtime). */
        fun sigmoid(z: Double): Double {
            val e = exp(-kotlin.math.abs(z))
            return if (z >= 0) 1 / (1 + e) else e / (1 + e)
        }

        fun softmax(raw: FloatArray): DoubleArray {
            var max = Double.NEGATIVE_INFINITY
            for (v in raw) if (v.toDouble() > max) max = v.toDouble()
            val e = DoubleArray(raw.size) { exp(raw[it].toDouble() - max) }
            val sum = e.sum()
            return DoubleArray(raw.size) { e[it] / sum }
        }

        fun fromManifest(manifest: Map<String, Any?>): ScoreHead {
            val output = manifest["output"].asMap("output")
            return ScoreHead(
                task = manifest["task"] as String,
                labels = manifest["labels"].asList("labels").map { it as String },
                outputsLogits = output["logits"] as Boolean,
                threshold = output["threshold"]?.asDouble("output.threshold") ?: 0.5,
            )
        }
    }
}
