// The page: loads manifest.json, site.json, the vocabulary and the ONNX model, runs onnxruntime-web (WASM) and
// classifies the text area's content whenever it changes. Results are also on window.edgeclfLast (for tests).
import { tokenizerFromSpec, modelInput, ScoreHead } from './edgeclf-core.js';

const $ = (id) => document.getElementById(id);
const timings = {};
window.edgeclfTimings = timings;

async function json(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function load() {
  const [manifest, site] = await Promise.all([json('manifest.json'), json('site.json')]);
  const runtimeBase = new URL(site.runtime.dir, document.baseURI).href;
  const [ort, vocabulary, model] = await Promise.all([
    import(runtimeBase + 'ort.wasm.min.mjs'),
    json(site.vocabulary_file),
    fetch(site.model_file).then((r) => {
      if (!r.ok) throw new Error(`${site.model_file}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  ort.env.wasm.wasmPaths = runtimeBase;
  ort.env.wasm.numThreads = 1; // as edgeclf's Python backends default to; threads need cross-origin isolation
  const session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: ['wasm'] });
  timings.model_loaded_ms = performance.now(); // since navigation start
  const tokenizer = tokenizerFromSpec(manifest.tokenizer, vocabulary, site.python_lower);
  const head = new ScoreHead(manifest);
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;

  /** One text → scores, as edgeclf's Python Classifier computes them for this artifact. */
  async function classify(text) {
    const t0 = performance.now();
    const ids = tokenizer.tokenIds(text);
    const input = modelInput(tokenizer, manifest.input, ids, site.dynamic_length);
    const tensor = new ort.Tensor('int32', Int32Array.from(input), [1, input.length]);
    const outputs = await session.run({ [inputName]: tensor });
    const raw = head.raw(input, outputs[outputName].data);
    const probabilities = head.probabilities(raw);
    const chosen = head.chosen(probabilities);
    const ms = performance.now() - t0;
    const scores = Object.fromEntries(manifest.labels.map((label, i) => [label, probabilities[i]]));
    return { text, tokens: ids.length, input_length: input.length, raw, scores, chosen, ms };
  }
  return { manifest, site, ort, classify };
}

function render(labels, result) {
  const section = $('scores');
  section.replaceChildren(...labels.map((label) => {
    const p = result.scores[label];
    const row = document.createElement('div');
    row.className = 'row' + (result.chosen.includes(label) ? ' chosen' : '');
    row.dataset.label = label;
    row.dataset.score = String(p); // full precision, for tests and scripts
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = label;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.width = `${Number.isFinite(p) ? Math.max(0, Math.min(1, p)) * 100 : 0}%`;
    bar.append(fill);
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = Number.isFinite(p) ? p.toFixed(4) : 'n/a';
    row.append(name, bar, value);
    return row;
  }));
  $('status').textContent = `${result.chosen.join(', ') || 'no label'} · ${result.tokens} tokens · ` +
    `${result.ms.toFixed(1)} ms`;
}

async function main() {
  let app;
  try {
    app = await load();
  } catch (e) {
    $('status').textContent = `could not load the model: ${e.message ?? e}`;
    window.edgeclfError = String(e.message ?? e);
    return;
  }
  const { manifest, site } = app;
  $('about').textContent = `${manifest.task} · labels ${manifest.labels.join(', ')} · artifact ${site.artifact} · ` +
    `${site.runtime.name} ${site.runtime.version} (WASM)`;
  window.edgeclf = { classify: app.classify, labels: manifest.labels };
  const area = $('text');
  let pending = null;
  let running = false;
  async function drain() { // one classification at a time; only the latest text counts
    running = true;
    while (pending !== null) {
      const text = pending;
      pending = null;
      try {
        const result = await app.classify(text);
        render(manifest.labels, result);
        window.edgeclfLast = result;
        if (timings.first_prediction_ms === undefined) timings.first_prediction_ms = performance.now();
      } catch (e) {
        $('status').textContent = `error: ${e.message ?? e}`;
        window.edgeclfLast = { text, error: String(e.message ?? e) };
      }
    }
    running = false;
  }
  const schedule = () => { pending = area.value; if (!running) drain(); };
  area.addEventListener('input', schedule);
  schedule();
}

main();
