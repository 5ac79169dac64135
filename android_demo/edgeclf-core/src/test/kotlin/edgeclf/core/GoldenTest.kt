package edgeclf.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions
import org.junit.jupiter.api.DynamicContainer
import org.junit.jupiter.api.DynamicNode
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import java.io.File
import kotlin.math.abs

/**
 * Every golden text that android_demo/tools/make_android_goldens.py wrote (directory in the EDGECLF_GOLDENS environment
 * variable or the edgeclf.goldens system property): the Kotlin pipeline must give the same token ids, the same
 * model input, and, fed the raw outputs LiteRT gave in Python, the same probabilities and labels.
 */
class GoldenTest {
    private val goldens: File by lazy {
        val dir = System.getProperty("edgeclf.goldens") ?: System.getenv("EDGECLF_GOLDENS")
        // tests/android/test_android_jvm.py always sets it (and checks the count of passed tests); a bare Gradle run may not
        Assumptions.assumeTrue(dir != null, "no goldens: set EDGECLF_GOLDENS to what android_demo/tools/make_android_goldens.py wrote")
        File(dir!!).also { require(it.isDirectory) { "$it is not a folder" } }
    }

    /** Outputs recorded from the real model: fails if the pipeline feeds anything but the recorded input. */
    private class RecordedRunner(override val dynamicLength: Boolean, val input: IntArray, val raw: FloatArray) : ModelRunner {
        var calls = 0

        override fun run(ids: IntArray): FloatArray {
            calls++
            assertArrayEquals(input, ids, "the model was fed other ids than the recorded ones")
            return raw.copyOf()
        }
    }

    @TestFactory
    fun goldens(): List<DynamicNode> {
        val sets = goldens.listFiles { f -> File(f, "golden.json").isFile }!!.sortedBy { it.name }
        assertTrue(sets.isNotEmpty(), "no golden sets under $goldens")
        return sets.map { folder -> DynamicContainer.dynamicContainer(folder.name, cases(folder)) }
    }

    private fun cases(folder: File): List<DynamicTest> {
        val golden = Json.parse(File(folder, "golden.json").readText()).asMap("golden.json")
        val manifestText = File(folder, "manifest.json").readText()
        val manifest = BundleSpec.parseManifest(manifestText)
        val vocabulary = File(folder, BundleSpec.vocabularyFileOf(manifest))
        if ("files" in manifest) BundleSpec.verify(manifest, vocabulary.name, vocabulary.readBytes()) // sizes + sha256
        val spec = BundleSpec.parse(manifestText, vocabulary.readText())
        val dynamic = golden["dynamic_length"] as Boolean
        assertEquals(golden["tokenizer_kind"], manifest["tokenizer"].asMap("tokenizer")["kind"])
        val cases = golden["cases"].asList("cases").map { it.asMap("case") }
        return cases.mapIndexed { i, case ->
            val text = case["text"] as String
            DynamicTest.dynamicTest("${folder.name}[$i] ${describe(text)}") { check(spec, dynamic, case, text) }
        }
    }

    private fun check(spec: BundleSpec, dynamic: Boolean, case: Map<String, Any?>, text: String) {
        val where = "text ${describe(text)}"
        val ids = ints(case["ids"])
        val modelInput = ints(case["model_input"])
        val ours = spec.tokenizer.tokenIds(text)
        if (!ours.contentEquals(ids)) {
            throw AssertionError("$where: token ids differ\n  expected ${show(ids)}\n  actual   ${show(ours)}\n  tokens ${spec.tokenizer.tokens(text).take(20)}")
        }
        assertArrayEquals(modelInput, spec.input.modelInput(ours, dynamic), "$where: model input differs")
        val raw = case["raw"] ?: return // a tokenizer-only set
        val runner = RecordedRunner(dynamic, modelInput, floats(raw))
        val prediction = TextClassifier(spec, runner).classify(text)
        assertEquals(1, runner.calls)
        val expected = case["probabilities"].asList("probabilities").map { it.asDouble("probability") }
        assertEquals(expected.size, prediction.probabilities.size, "$where: number of scores")
        expected.forEachIndexed { j, p ->
            assertTrue(abs(p - prediction.probabilities[j]) <= 1e-9, "$where: score $j is ${prediction.probabilities[j]}, expected $p")
        }
        assertEquals(case["chosen"].asList("chosen").map { it as String }, prediction.chosen, "$where: labels")
    }

    companion object {
        fun ints(v: Any?): IntArray = v.asList("ids").map { it.asInt("id") }.toIntArray()

        fun floats(v: Any?): FloatArray = v.asList("raw").map { it.asDouble("raw").toFloat() }.toFloatArray()

        fun show(a: IntArray): String = if (a.size <= 30) a.contentToString() else "${a.take(30)}... (${a.size} ids)"

        fun describe(text: String): String {
            val shown = text.take(40).map { c ->
                if (c < ' ' || c.code in 0x7f..0xa0 || c.isWhitespace() || Character.getType(c) == Character.FORMAT.toInt()) {
                    "\\u%04x".format(c.code)
                } else {
                    c.toString()
                }
            }.joinToString("")
            return "\"$shown\"" + if (text.length > 40) " (${text.length} chars)" else ""
        }
    }
}
