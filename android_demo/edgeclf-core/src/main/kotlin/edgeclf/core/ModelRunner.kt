package edgeclf.core

/**
 * The model itself: token ids in, raw outputs (logits or probabilities, as the model was trained) out.
 * On Android this is LiteRT's `Interpreter` (the app module's `LiteRtModelRunner`); the JVM tests use
 * outputs recorded from the same `.tflite` file with the LiteRT interpreter in Python.
 */
interface ModelRunner : AutoCloseable {
    /** True when the model's input is [1, None]: it is resized to each text's length (true-length inference). */
    val dynamicLength: Boolean

    /** Runs one text's ids (shape [1, ids.size]) and returns the output row. */
    fun run(ids: IntArray): FloatArray

    override fun close() {}
}
