package edgeclf.demo

import android.content.res.AssetManager
import edgeclf.core.BundleSpec
import edgeclf.core.TextClassifier

/**
 * Opens the edgeclf bundle in assets/ (manifest.json, the vocabulary it names, the default artifact's
 * model.tflite), checking each file's size and sha256 against the manifest as edgeclf's Python runtime does.
 */
object BundleAssets {
    fun open(assets: AssetManager, numThreads: Int = 1): TextClassifier {
        val manifestText = assets.read("manifest.json").toString(Charsets.UTF_8)
        val manifest = BundleSpec.parseManifest(manifestText)
        val vocabularyFile = BundleSpec.vocabularyFileOf(manifest)
        val vocabulary = assets.read(vocabularyFile)
        val spec = BundleSpec.parse(manifestText, vocabulary.toString(Charsets.UTF_8))
        val model = assets.read(spec.modelFile)
        if ("files" in manifest) {
            BundleSpec.verify(manifest, vocabularyFile, vocabulary)
            BundleSpec.verify(manifest, spec.modelFile, model)
        }
        return TextClassifier(spec, LiteRtModelRunner(model, numThreads))
    }

    private fun AssetManager.read(name: String): ByteArray = open(name).use { it.readBytes() }
}
