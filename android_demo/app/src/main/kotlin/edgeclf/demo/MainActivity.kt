package edgeclf.demo

import android.app.Activity
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.LayoutInflater
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ProgressBar
import android.widget.TextView
import edgeclf.core.Prediction
import edgeclf.core.TextClassifier
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * One screen: a text box, a Classify button, every label with its probability as a bar, and the latency of the
 * last prediction. The bundle is loaded and every text classified on a background thread.
 */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private val main = Handler(Looper.getMainLooper())
    private var classifier: TextClassifier? = null

    private lateinit var status: TextView
    private lateinit var text: EditText
    private lateinit var classify: Button
    private lateinit var chosen: TextView
    private lateinit var scores: LinearLayout
    private lateinit var latency: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        text = findViewById(R.id.text)
        classify = findViewById(R.id.classify)
        chosen = findViewById(R.id.chosen)
        scores = findViewById(R.id.scores)
        latency = findViewById(R.id.latency)
        classify.setOnClickListener { classifyText(text.text.toString()) }

        worker.execute {
            val loaded = runCatching { BundleAssets.open(assets) }
            main.post {
                loaded.onSuccess { c ->
                    classifier = c
                    val head = c.spec.head
                    val input = if (c.runner.dynamicLength && c.spec.input.masked) {
                        "true-length"
                    } else {
                        "${c.spec.input.sequenceLength ?: "any"}-id"
                    }
                    status.text = getString(R.string.ready, head.task, c.spec.modelFile, head.labels.size, input)
                    classify.isEnabled = true
                }.onFailure { e ->
                    status.text = getString(R.string.load_failed, e.message ?: e.toString())
                }
            }
        }
    }

    private fun classifyText(input: String) {
        val c = classifier ?: return
        classify.isEnabled = false
        worker.execute {
            val result = runCatching { c.classify(input) }
            main.post {
                classify.isEnabled = true
                result.onSuccess(::show).onFailure { e -> chosen.text = getString(R.string.failed, e.message ?: e.toString()) }
            }
        }
    }

    private fun show(p: Prediction) {
        chosen.text = getString(R.string.chosen, p.chosen.joinToString(", ").ifEmpty { getString(R.string.none) })
        scores.removeAllViews()
        val inflater = LayoutInflater.from(this)
        for ((label, probability) in p.labels.zip(p.probabilities.toList())) {
            val row = inflater.inflate(R.layout.item_score, scores, false)
            row.findViewById<TextView>(R.id.label).text = label
            row.findViewById<ProgressBar>(R.id.bar).progress = (probability * 1000).toInt().coerceIn(0, 1000)
            row.findViewById<TextView>(R.id.value).text = "%.3f".format(probability)
            scores.addView(row)
        }
        latency.text = getString(R.string.latency, p.nanos / 1e6, p.tokenIds.size, p.modelInput.size)
    }

    override fun onDestroy() {
        worker.execute { classifier?.close() }
        worker.shutdown()
        super.onDestroy()
    }
}
