// The learned-routing CLI end to end: `switchyard split`, `train` and `eval` on a small synthetic dataset
// written here (questions about code answered only by coder-7b, arithmetic only by math-7b): the artifact is
// written, eval --json prints one object of the documented shape, the learned router beats the baselines it
// should, and bad input fails with a message. Every run is bounded in time.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SWITCHYARD_BIN } from './lib/gateway.mjs';

/** Runs the binary with `args`; resolves {code, stdout, stderr}; kills it after `timeoutMs`. */
function run(args, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(SWITCHYARD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const MODELS = {
  'big-70b': { size: '70B', input_price_per_mtok: 0.9, output_price_per_mtok: 0.9 },
  'coder-7b': { size: '7B', input_price_per_mtok: 0.2, output_price_per_mtok: 0.2 },
  'math-7b': { size: '7B', input_price_per_mtok: 0.1, output_price_per_mtok: 0.1 },
};

/** A deterministic pseudo-random source (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rows(n, seed) {
  const r = random(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    const code = i % 2 === 0;
    const query = code
      ? `Write a ${pick(['python', 'rust', 'C++', 'java'])} function to ${pick(['sort', 'parse', 'merge', 'reverse'])} a ${pick(['list', 'string', 'tree', 'map'])} #${i}`
      : `What is ${Math.floor(r() * 100)} times ${Math.floor(r() * 100)} plus ${Math.floor(r() * 100)}? #${i}`;
    // big-70b answers 75% of everything, whatever it is.
    const big = r() < 0.75 ? 1 : 0;
    out.push({ query, scores: { 'big-70b': big, 'coder-7b': code ? 1 : 0, 'math-7b': code ? 0 : 1 } });
  }
  return out;
}

describe('learned routing CLI', { timeout: 240_000 }, () => {
  let dir;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'switchyard-ml-'));
    await fs.writeFile(path.join(dir, 'models.json'), JSON.stringify(MODELS));
    await fs.writeFile(path.join(dir, 'data.jsonl'), rows(400, 1).map((x) => JSON.stringify(x)).join('\n') + '\n');
  });
  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('splits deterministically by query', async () => {
    const a = await run(['split', '--data', path.join(dir, 'data.jsonl'), '--test-fraction', '0.25', '--seed', '3',
      '--train-out', path.join(dir, 'train.jsonl'), '--test-out', path.join(dir, 'test.jsonl')]);
    assert.equal(a.code, 0, a.stderr);
    const b = await run(['split', '--data', path.join(dir, 'data.jsonl'), '--test-fraction', '0.25', '--seed', '3',
      '--train-out', path.join(dir, 'train2.jsonl'), '--test-out', path.join(dir, 'test2.jsonl')]);
    assert.equal(b.code, 0, b.stderr);
    const train = await fs.readFile(path.join(dir, 'train.jsonl'), 'utf8');
    const test = await fs.readFile(path.join(dir, 'test.jsonl'), 'utf8');
    assert.equal(train, await fs.readFile(path.join(dir, 'train2.jsonl'), 'utf8'));
    assert.equal(test, await fs.readFile(path.join(dir, 'test2.jsonl'), 'utf8'));
    const trainQueries = new Set(train.trim().split('\n').map((l) => JSON.parse(l).query));
    const testLines = test.trim().split('\n');
    assert.ok(testLines.length > 60 && testLines.length < 140, `test side: ${testLines.length} rows`);
    for (const l of testLines) assert.ok(!trainQueries.has(JSON.parse(l).query));
  });

  for (const strategy of ['knn', 'mlp', 'svm', 'mf', 'elo', 'smallest', 'largest']) {
    it(`trains ${strategy} and evaluates it with --json`, async () => {
      const out = path.join(dir, 'artifacts');
      // The defaults are tuned for thousands of rows; 300 rows need more passes.
      const extra = { svm: ['--param', 'epochs=60'], mf: ['--param', 'epochs=60'] }[strategy] ?? [];
      const t = await run(['train', '--strategy', strategy, '--data', path.join(dir, 'train.jsonl'), '--models',
        path.join(dir, 'models.json'), '--out', out, '--seed', '5', '--threads', '2', '--holdout-fraction', '0.1',
        ...extra]);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, new RegExp(`wrote .*${strategy}\\.syra`));
      assert.match(t.stdout, /on the held-out rows/);
      const artifact = path.join(out, `${strategy}.syra`);
      assert.ok((await fs.stat(artifact)).size > 100);

      const e = await run(['eval', '--artifact', artifact, '--data', path.join(dir, 'test.jsonl'), '--models',
        path.join(dir, 'models.json'), '--json', '--tradeoff-points', '5']);
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.stdout.trim().split('\n').length, 1, 'one JSON object on one line');
      const r = JSON.parse(e.stdout);
      for (const key of ['best_single', 'cheapest', 'random', 'oracle']) {
        const b = r.baselines[key];
        assert.equal(typeof b.model, 'string', key);
        assert.equal(typeof b.accuracy, 'number', key);
        assert.equal(typeof b.cost, 'number', key);
      }
      assert.equal(r.baselines.best_single.model, 'big-70b');
      assert.equal(r.baselines.cheapest.model, 'math-7b');
      assert.equal(r.baselines.oracle.accuracy, 1);
      assert.equal(r.points.length, 5);
      for (const p of r.points) {
        assert.equal(typeof p.threshold, 'number');
        assert.ok(p.accuracy >= 0 && p.accuracy <= 1);
        assert.ok(p.cost > 0);
      }
      assert.equal(typeof r.auc, 'number');
      assert.equal(typeof r.apgr, 'number');
      if (strategy === 'smallest') assert.equal(r.points[0].accuracy, r.baselines.cheapest.accuracy);
      if (strategy === 'largest') assert.equal(r.points[0].accuracy, r.baselines.best_single.accuracy);
      if (['knn', 'mlp', 'svm', 'mf', 'elo'].includes(strategy)) {
        // The learned router answers (nearly) everything, at a fraction of big-70b's cost.
        assert.ok(r.points[0].accuracy > 0.9, `${strategy}: accuracy ${r.points[0].accuracy}`);
        assert.ok(r.points[0].cost < r.baselines.best_single.cost / 2);
        assert.ok(r.match_best_single && r.match_best_single.cost_ratio < 0.5);
        assert.ok(r.apgr > 0.9, `${strategy}: APGR ${r.apgr}`);
      }

      const text = await run(['eval', '--artifact', out + '/' + `${strategy}.syra`, '--data',
        path.join(dir, 'test.jsonl'), '--models', path.join(dir, 'models.json')]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /best single: big-70b/);
      assert.match(text.stdout, /APGR/);
    });
  }

  it('fails with a message on bad input', async () => {
    const models = path.join(dir, 'models.json');
    const data = path.join(dir, 'train.jsonl');
    let r = await run(['train', '--strategy', 'knn', '--data', path.join(dir, 'missing.jsonl'), '--models', models,
      '--out', path.join(dir, 'x')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing\.jsonl: cannot open/);
    r = await run(['train', '--strategy', 'knn', '--data', data, '--models', models, '--out', path.join(dir, 'x'),
      '--param', 'neighbours=3']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /neighbours/);
    r = await run(['train', '--strategy', 'forest', '--data', data, '--models', models, '--out', path.join(dir, 'x')]);
    assert.notEqual(r.code, 0);
    const broken = path.join(dir, 'broken.syra');
    const good = await fs.readFile(path.join(dir, 'artifacts', 'knn.syra'));
    await fs.writeFile(broken, good.subarray(0, good.length - 10));
    r = await run(['eval', '--artifact', broken, '--data', data, '--models', models]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid routing artifact: truncated/);
    const flipped = Buffer.from(good);
    flipped[200] ^= 0xff;
    await fs.writeFile(broken, flipped);
    r = await run(['eval', '--artifact', broken, '--data', data, '--models', models]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /checksum mismatch/);
  });
});
