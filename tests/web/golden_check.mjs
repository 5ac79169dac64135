// Checks edgeclf's JavaScript core (edgeclf/web/assets/edgeclf-core.js) against the golden vectors that
// android_demo/tools/make_android_goldens.py writes for the Android Kotlin core: per text the token ids, the model input and,
// fed the raw outputs the real interpreter gave, the probabilities (within 1e-9) and the chosen labels.
// Usage: node golden_check.mjs GOLDEN_DIR PYTHON_LOWER.json   Prints one JSON summary on stdout.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromSpec, modelInput, ScoreHead } from '../../edgeclf/web/assets/edgeclf-core.js';

const [dir, lowerFile] = process.argv.slice(2);
const lowerTable = JSON.parse(readFileSync(lowerFile, 'utf8'));
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const show = (text) => JSON.stringify(text.length > 50 ? text.slice(0, 50) + `… (${text.length} chars)` : text);
const summary = { sets: {}, failures: [] };

for (const name of readdirSync(dir).sort()) {
  const folder = join(dir, name);
  if (!existsSync(join(folder, 'golden.json'))) continue;
  const golden = JSON.parse(readFileSync(join(folder, 'golden.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  const vocabulary = JSON.parse(readFileSync(join(folder, manifest.tokenizer.vocabulary_file), 'utf8'));
  const tokenizer = tokenizerFromSpec(manifest.tokenizer, vocabulary, lowerTable);
  const head = new ScoreHead(manifest);
  const stats = { cases: 0, passed: 0, with_outputs: 0 };
  summary.sets[name] = stats;
  golden.cases.forEach((c, i) => {
    stats.cases++;
    const fail = (what) => summary.failures.push(`${name}[${i}] ${show(c.text)}: ${what}`);
    const ids = tokenizer.tokenIds(c.text);
    if (!same(ids, c.ids)) return fail(`ids ${JSON.stringify(ids.slice(0, 20))} != ${JSON.stringify(c.ids.slice(0, 20))}`);
    const input = modelInput(tokenizer, manifest.input, ids, golden.dynamic_length);
    if (!same(input, c.model_input)) return fail(`model input ${JSON.stringify(input.slice(0, 20))} differs`);
    if (c.raw !== undefined) {
      stats.with_outputs++;
      const probabilities = head.probabilities(head.raw(input, c.raw.map(Math.fround)));
      const worst = Math.max(...probabilities.map((p, j) => Math.abs(p - c.probabilities[j])));
      if (probabilities.length !== c.probabilities.length || !(worst <= 1e-9)) {
        return fail(`probabilities ${probabilities} != ${c.probabilities}`);
      }
      const chosen = head.chosen(probabilities);
      if (!same(chosen, c.chosen)) return fail(`labels ${chosen} != ${c.chosen}`);
    }
    stats.passed++;
  });
}
process.stdout.write(JSON.stringify(summary));
