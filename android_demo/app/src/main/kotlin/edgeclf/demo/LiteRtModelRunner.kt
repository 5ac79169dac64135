package edgeclf.demo

import edgeclf.core.ModelRunner
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The bundle's model.tflite in LiteRT's `Interpreter` (com.google.ai.edge.litert:litert 1.4.1, package
 * org.tensorflow.lite), run exactly as edgeclf's Python LiteRT backend runs it: input [1, n] int32 ids, output
 * [1, units] float32. A model whose input signature is [1, -1] (a masked model) is resized to each text's true
 * length with `resizeInput(0, [1, n], strict = true)` + `allocateTensors()`; a fixed-length one never is.
 */
class LiteRtModelRunner(model: ByteArray, numThreads: Int = 1) : ModelRunner {
    // The Interpreter reads the model from this buffer for its whole life: a direct buffer in native order.
    private val buffer: ByteBuffer = ByteBuffer.allocateDirect(model.size).order(ByteOrder.nativeOrder()).apply {
        put(model)
        rewind()
    }
    private val interpreter = Interpreter(buffer, Interpreter.Options().setNumThreads(numThreads))
    override val dynamicLength: Boolean
    private var length: Int
    private val units: Int

    init {
        require(interpreter.inputTensorCount == 1 && interpreter.outputTensorCount == 1) {
            "expected a model with one input and one output, got ${interpreter.inputTensorCount} and ${interpreter.outputTensorCount}"
        }
        val input = interpreter.getInputTensor(0)
        require(input.dataType() == DataType.INT32) { "the model's input is ${input.dataType()}, expected INT32 ids" }
        val signature = input.shapeSignature()
        require(signature.size == 2 && signature[0] == 1) { "expected a [1, length] input, got ${signature.contentToString()}" }
        dynamicLength = signature[1] == -1
        length = input.shape()[1]
        val output = interpreter.getOutputTensor(0)
        require(output.dataType() == DataType.FLOAT32) { "the model's output is ${output.dataType()}, expected FLOAT32" }
        units = output.shape().last()
    }

    @Synchronized
    override fun run(ids: IntArray): FloatArray {
        if (ids.size != length) {
            check(dynamicLength) { "the model takes exactly $length ids, got ${ids.size}" }
            interpreter.resizeInput(0, intArrayOf(1, ids.size), true)
            interpreter.allocateTensors()
            length = ids.size
        }
        val output = arrayOf(FloatArray(units))
        // a fused LSTM keeps its state in variable tensors between calls: every text starts from zero, as in Keras
        interpreter.resetVariableTensors()
        interpreter.run(arrayOf(ids), output)
        return output[0]
    }

    @Synchronized
    override fun close() = interpreter.close()
}
