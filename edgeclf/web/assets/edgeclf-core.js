// edgeclf's text → model input → scores pipeline in JavaScript: the same rules as edgeclf/tokenizer.py and
// edgeclf/runtime.py (and android_demo's Kotlin core). No DOM and no runtime here, so Node tests it on the goldens.

const PAD_ID = 0;
const OOV_ID = 1;
// The 32 ASCII punctuation characters Keras' TextVectorization deletes (and nothing else).
const TV_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// tf.strings.split without a separator: runs of ASCII whitespace only (no NBSP, no U+2028, no U+0085).
const ASCII_WHITESPACE = /[ \t\n\v\f\r]+/;
const KERAS_DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';
const CASED = /\p{Cased}/u;
const CASE_IGNORABLE = /\p{Case_Ignorable}/u;

/** Python's str.lower(): Python's own table (passed in, from the Python that built the site) + final sigma. */
export class PythonLower {
  constructor(table) {
    this.table = new Map(Object.entries(table).map(([cp, s]) => [Number(cp), s]));
  }

  lower(text) {
    const cps = Array.from(text);
    let out = '';
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i];
      const cp = c.codePointAt(0);
      if (cp === 0x3a3) out += finalSigma(cps, i) ? '\u03c2' : '\u03c3';
      else out += this.table.get(cp) ?? c;
    }
    return out;
  }
}

/** Unicode's Final_Sigma context at code point index i, as CPython's handle_capital_sigma tests it. */
function finalSigma(cps, i) {
  let j = i - 1;
  while (j >= 0 && CASE_IGNORABLE.test(cps[j])) j--;
  if (j < 0 || !CASED.test(cps[j])) return false;
  j = i + 1;
  while (j < cps.length && CASE_IGNORABLE.test(cps[j])) j++;
  return j === cps.length || !CASED.test(cps[j]);
}

/** Keras TextVectorization (output_mode="int"): ASCII-only lowercasing, punctuation deletion and splitting. */
export class TextVectorizer {
  constructor(spec, vocabulary) {
    if (!Array.isArray(vocabulary) || vocabulary[0] !== '' || vocabulary[1] !== '[UNK]') {
      throw new Error("vocabulary must start with the padding token '' and '[UNK]'");
    }
    if (spec.ngrams !== undefined && spec.ngrams !== null && spec.ngrams !== 1) {
      throw new Error(`unsupported TextVectorization ngrams=${spec.ngrams}`);
    }
    this.standardize = spec.standardize === undefined ? 'lower_and_strip_punctuation' : spec.standardize;
    this.split = spec.split === undefined ? 'whitespace' : spec.split;
    this.length = spec.output_sequence_length ?? null;
    this.padding = 'post';
    this.truncating = 'post';
    this.index = new Map();
    vocabulary.forEach((token, i) => {
      if (token !== '' && !this.index.has(token)) this.index.set(token, i); // the first occurrence wins
    });
  }

  standardized(text) {
    let s = text;
    if (this.standardize === 'lower' || this.standardize === 'lower_and_strip_punctuation') {
      s = s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    }
    if (this.standardize === 'strip_punctuation' || this.standardize === 'lower_and_strip_punctuation') {
      let out = '';
      for (const c of s) if (!TV_PUNCTUATION.has(c)) out += c;
      s = out;
    }
    return s;
  }

  tokens(text) {
    const s = this.standardized(text);
    if (this.split === 'whitespace') return s.split(ASCII_WHITESPACE).filter((t) => t.length > 0);
    if (this.split === 'character') return Array.from(s); // one token per code point
    return [s];
  }

  /** Ids of the tokens, the first output_sequence_length kept, never padded. */
  tokenIds(text) {
    const ids = this.tokens(text).map((t) => this.index.get(t) ?? OOV_ID);
    return this.length === null ? ids : ids.slice(0, this.length);
  }
}

/** The legacy Keras Tokenizer (texts_to_sequences) with pad_sequences' sides. */
export class KerasTokenizer {
  constructor(config, wordIndex, pythonLower) {
    this.wordIndex = new Map(Object.entries(wordIndex).map(([w, i]) => [w, Number(i)]));
    this.numWords = config.num_words ?? null;
    if ('oov_id' in config) this.oov = config.oov_id ?? null;
    else this.oov = config.oov_token == null ? null : this.wordIndex.get(config.oov_token) ?? null;
    this.lower = config.lower ?? true;
    this.filters = new Set(Array.from(config.filters ?? KERAS_DEFAULT_FILTERS));
    this.split = config.split ?? ' ';
    this.charLevel = config.char_level ?? false;
    this.length = config.output_sequence_length ?? null;
    this.padding = config.padding ?? 'pre';
    this.truncating = config.truncating ?? 'pre';
    if (!this.split && !this.charLevel) throw new Error('the Keras Tokenizer split string must not be empty');
    if (this.lower && !pythonLower) throw new Error("a lowercasing Keras Tokenizer needs Python's lower table");
    this.pythonLower = pythonLower;
  }

  tokens(text) {
    const s = this.lower ? this.pythonLower.lower(text) : text;
    if (this.charLevel) return Array.from(s);
    let out = '';
    for (const c of s) out += this.filters.has(c) ? this.split : c;
    return out.split(this.split).filter((t) => t.length > 0);
  }

  tokenIds(text) {
    const ids = [];
    for (const word of this.tokens(text)) {
      const i = this.wordIndex.get(word);
      if (i !== undefined && (!this.numWords || i < this.numWords)) ids.push(i);
      else if (this.oov !== null) ids.push(this.oov);
    }
    return ids; // texts_to_sequences: never truncated here (modelInput applies pad_sequences' sides)
  }
}

const KERAS_SPEC_KEYS = ['filters', 'lower', 'split', 'char_level', 'oov_id', 'num_words', 'oov_token',
  'output_sequence_length', 'padding', 'truncating'];

/** The bundle's tokenizer from its manifest spec and the parsed vocabulary file. */
export function tokenizerFromSpec(spec, vocabulary, pythonLowerTable) {
  const lower = pythonLowerTable ? new PythonLower(pythonLowerTable) : null;
  if (spec.kind === 'text_vectorization') return new TextVectorizer(spec, vocabulary);
  if (spec.kind !== 'keras_tokenizer') throw new Error(`unsupported tokenizer kind ${spec.kind}`);
  let root = typeof vocabulary === 'string' ? JSON.parse(vocabulary) : vocabulary;
  const overrides = Object.fromEntries(KERAS_SPEC_KEYS.filter((k) => k in spec).map((k) => [k, spec[k]]));
  if (root && typeof root.config === 'object') { // a Tokenizer.to_json() text: its settings, the spec's winning
    const config = root.config;
    const wordIndex = typeof config.word_index === 'string' ? JSON.parse(config.word_index) : config.word_index;
    return new KerasTokenizer({ ...config, ...overrides }, wordIndex, lower);
  }
  return new KerasTokenizer(overrides, root, lower);
}

/** Which ids the artifact is fed for a text (edgeclf/runtime.py Classifier.model_input). */
export function modelInput(tokenizer, manifestInput, ids, dynamicLength) {
  const trueLength = (manifestInput.feed ?? (manifestInput.masked ? 'true_length' : 'fixed_length')) === 'true_length';
  const length = tokenizer.length;
  let x = ids;
  if (length !== null && x.length > length) { // truncate: keep the first ids ('post') or the last ('pre')
    x = tokenizer.truncating === 'pre' ? x.slice(x.length - length) : x.slice(0, length);
  }
  if (!(trueLength && dynamicLength) && length !== null && x.length < length) {
    const pad = new Array(length - x.length).fill(PAD_ID);
    x = tokenizer.padding === 'pre' ? pad.concat(x) : x.concat(pad);
  }
  return x.length ? x : [PAD_ID];
}

function sigmoid(z) {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** Raw outputs (float32 values) → probabilities (float64), then the chosen labels, as edgeclf/runtime.py. */
export class ScoreHead {
  constructor(manifest) {
    this.task = manifest.task;
    this.labels = manifest.labels;
    this.logits = manifest.output.logits;
    this.threshold = manifest.output.threshold ?? 0.5;
    this.masked = manifest.input.masked;
    const noToken = this.masked ? manifest.output.no_token_raw : null;
    this.noTokenRaw = noToken == null ? null : noToken.map((v) => (v === null ? NaN : Math.fround(v)));
  }

  /** The no-token rule: a masked model's text without tokens gets Keras's all-masked output. */
  raw(input, outputs) {
    if (this.noTokenRaw !== null && input.every((id) => id === PAD_ID)) return this.noTokenRaw.slice();
    return Array.from(outputs);
  }

  probabilities(raw) {
    if (this.task === 'binary') {
      const p = this.logits ? sigmoid(raw[0]) : raw[0];
      return [1 - p, p];
    }
    if (this.task === 'multilabel') return raw.map((z) => (this.logits ? sigmoid(z) : z));
    if (!this.logits) return raw.slice();
    const max = Math.max(...raw);
    const e = raw.map((z) => Math.exp(z - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  chosen(probabilities) {
    if (this.task === 'multilabel') return this.labels.filter((_, i) => probabilities[i] >= this.threshold);
    let best = probabilities.findIndex((p) => Number.isNaN(p)); // numpy's argmax: the first NaN wins
    if (best < 0) {
      best = 0;
      probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
    }
    return [this.labels[best]];
  }
}
