// Drives the edgeclf web page in headless Chromium (Debian's /usr/bin/chromium through playwright-core; no browser
// download): types or pastes each text, waits for the page to classify it, reads the scores from the page's DOM.
// Usage: node drive_page.mjs JOB.json  (JOB: url, chromium, profile, cases [{text_file, mode}], screenshot, repeats)
// Prints one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(job.web_dir + '/package.json');
const { chromium } = require('playwright-core');

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const context = await chromium.launchPersistentContext(job.profile, {
  executablePath: job.chromium, headless: true, args: FLAGS, viewport: { width: 900, height: 700 },
});
const out = { console: [], responses: [], cases: [] };
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`.slice(0, 500)));
  page.on('pageerror', (e) => out.console.push(`pageerror: ${e}`.slice(0, 500)));
  page.on('response', async (r) => {
    let bytes = null;
    try { bytes = (await r.body()).length; } catch { /* a redirect or an aborted request has no body */ }
    out.responses.push({ url: r.url(), status: r.status(), bytes });
  });
  page.setDefaultTimeout(job.timeout_ms ?? 120000);
  await page.goto(job.url);
  await page.waitForFunction(() => window.edgeclfLast !== undefined || window.edgeclfError !== undefined);
  out.load_error = await page.evaluate(() => window.edgeclfError ?? null);
  out.timings = await page.evaluate(() => ({ ...window.edgeclfTimings }));
  out.first = await page.evaluate(() => window.edgeclfLast);
  out.runtime = await page.textContent('#about');
  const area = page.locator('#text');
  for (const c of out.load_error ? [] : job.cases) {
    const text = readFileSync(c.text_file, 'utf8');
    const t0 = Date.now();
    if (c.mode === 'type') { // key by key, as a person types: the page classifies while the text grows
      await area.fill('');
      await area.pressSequentially(text);
    } else {
      await area.fill(text); // one input event, as a paste
    }
    await page.waitForFunction(() => {
      const last = window.edgeclfLast;
      return last !== undefined && last.text === document.getElementById('text').value;
    });
    const dom = await page.$$eval('#scores .row', (rows) => rows.map((r) => [r.dataset.label, r.dataset.score]));
    const last = await page.evaluate(() => { const { text, ...rest } = window.edgeclfLast; return rest; });
    const status = await page.textContent('#status');
    const result = { id: c.id, mode: c.mode, dom, last, status, wall_ms: Date.now() - t0 };
    if (job.repeats) { // the same text again through the page's classify(), for a latency median
      result.repeat_ms = await page.evaluate(async ([t, n]) => {
        const ms = [];
        for (let i = 0; i < n; i++) ms.push((await window.edgeclf.classify(t)).ms);
        return ms;
      }, [text, job.repeats]);
    }
    if (c.screenshot) await page.screenshot({ path: c.screenshot, fullPage: true });
    out.cases.push(result);
  }
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out));
