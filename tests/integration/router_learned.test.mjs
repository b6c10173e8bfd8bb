// Learned routing end to end: artifacts trained here by `switchyard train` on a small synthetic dataset (coding
// questions answered well only by coder-7b, arithmetic only by math-7b, big-70b half of everything) route real
// requests through a group of mock deployments. Checked: which deployment served each request
// (x-litellm-model-id), the route span's router.* attributes at the loopback OTLP receiver, the hybrid trade-off,
// model_info.llmrouter_model, the fallback without an artifact, A/B experiments by user, reloads (SIGHUP and
// hot_reload) under continuous load with no request lost and a corrupt file keeping the old artifact, and the loop
// traces -> traces-to-dataset -> train.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBinary, waitFor } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { dep, routerSetup, chat, explain } from './lib/router.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, describeSpan } from './lib/tracing.mjs';

const T = { timeout: 60_000 };

const MODELS = {
  'big-70b': { size: '70B', input_price_per_mtok: 0.9, output_price_per_mtok: 0.9 },
  'coder-7b': { size: '7B', input_price_per_mtok: 0.2, output_price_per_mtok: 0.2 },
  'math-7b': { size: '7B', input_price_per_mtok: 0.1, output_price_per_mtok: 0.1 },
};

const LANGS = ['python', 'rust', 'java', 'go'];
const VERBS = ['sort', 'parse', 'merge', 'reverse'];
const THINGS = ['list', 'string', 'tree', 'map'];
const codeQuestion = (i) => `Write a ${LANGS[i % 4]} function to ${VERBS[(i >> 2) % 4]} a ${THINGS[(i >> 4) % 4]}`;
const mathQuestion = (i) => `What is ${i % 13} times ${(i * 7) % 17} plus ${(i * 3) % 11}?`;

/** Training rows; `swapped` makes math-7b the one that answers code and coder-7b the one that answers arithmetic. */
function dataset({ swapped = false } = {}) {
  const rows = [];
  for (let i = 0; i < 160; i++) {
    const code = i % 2 === 0;
    const good = code !== swapped ? 'coder-7b' : 'math-7b';
    const bad = good === 'coder-7b' ? 'math-7b' : 'coder-7b';
    rows.push({ query: code ? codeQuestion(i) : mathQuestion(i), scores: { 'big-70b': 0.5, [good]: 1, [bad]: 0 } });
  }
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

let dir;
const file = (name) => path.join(dir, name);

/** `switchyard train`; resolves the artifact's path. */
async function train(strategy, data, outDir) {
  const r = await runBinary(
    ['train', '--strategy', strategy, '--data', file(data), '--models', file('models.json'), '--out', file(outDir)],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return file(path.join(outDir, `${strategy}.syra`));
}

/** Replaces `target` with the bytes of `source` atomically (write aside, rename), as a deploy would. */
async function replace(target, sourceOrBytes) {
  const bytes = typeof sourceOrBytes === 'string' ? await fs.readFile(sourceOrBytes) : sourceOrBytes;
  const tmp = `${target}.tmp-${process.pid}`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, target);
}

const group = (u, extra = []) => [
  dep('g', 'coder-7b', u, {}, { id: 'dep-coder' }),
  dep('g', 'math-7b', u, {}, { id: 'dep-math' }),
  dep('g', 'big-70b', u, {}, { id: 'dep-big' }),
  ...extra,
];

const learned = (strategy, args) => ({ routing_strategy: strategy, routing_strategy_args: args });

const logCount = (gw, msg) => gw.logLines().filter((l) => l.msg === msg).length;

let artifactA; // code -> coder-7b
let artifactB; // code -> math-7b

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'switchyard-learned-'));
  await fs.writeFile(file('models.json'), JSON.stringify(MODELS));
  await fs.writeFile(file('a.jsonl'), dataset());
  await fs.writeFile(file('b.jsonl'), dataset({ swapped: true }));
  artifactA = await train('knn', 'a.jsonl', 'a');
  artifactB = await train('knn', 'b.jsonl', 'b');
});

after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('learned routing: which deployment serves', { timeout: 120_000 }, () => {
  it('llmrouter-knn sends code to coder-7b and arithmetic to math-7b', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: group(u),
      router_settings: learned('llmrouter-knn', { model_path: artifactA, llm_data_path: file('models.json') }),
    }));
    for (let i = 0; i < 6; i++) {
      const c = await chat(gw, 'g', { content: codeQuestion(i * 5 + 1) });
      assert.equal(c.status, 200, explain(c));
      assert.equal(c.headers.get('x-litellm-model-id'), 'dep-coder', codeQuestion(i * 5 + 1));
      const m = await chat(gw, 'g', { content: mathQuestion(i * 5 + 3) });
      assert.equal(m.status, 200, explain(m));
      assert.equal(m.headers.get('x-litellm-model-id'), 'dep-math', mathQuestion(i * 5 + 3));
    }
    assert.equal(upstream.requestsFor('big-70b').length, 0);
    assert.equal(logCount(gw, 'learned routing artifact loaded'), 1, gw.stderr);
  });

  it('llmrouter-hybrid: a large threshold with cost weighing in picks the cheapest for everything', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: group(u),
      router_settings: learned('llmrouter-hybrid', {
        model_path: artifactA,
        llm_data_path: file('models.json'),
        quality_threshold: 1,
        cost_weight: 10,
      }),
    }));
    for (const content of [codeQuestion(3), mathQuestion(4)]) {
      const r = await chat(gw, 'g', { content });
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-math', `math-7b is the cheapest: ${content}`);
    }
  });

  it('model_info.llmrouter_model maps a deployment; an unmapped one is ranked after the mapped ones', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        dep('g', 'ok-selfhosted', u, {}, { id: 'dep-selfhosted-coder', llmrouter_model: 'coder-7b' }),
        dep('g', 'ok-unknown', u, {}, { id: 'dep-unknown' }),
        dep('g', 'math-7b', u, {}, { id: 'dep-math' }),
      ],
      router_settings: learned('llmrouter-knn', { model_path: artifactA }),
    }));
    for (let i = 0; i < 4; i++) {
      const r = await chat(gw, 'g', { content: codeQuestion(i + 7) });
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-selfhosted-coder');
    }
    assert.equal(upstream.requestsFor('ok-unknown').length, 0);
  });

  it('the next best serves when the best deployment fails', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [
        dep('g', 'status-500-ra0-coder', u, {}, { id: 'dep-coder', llmrouter_model: 'coder-7b' }),
        dep('g', 'math-7b', u, {}, { id: 'dep-math' }),
        dep('g', 'big-70b', u, {}, { id: 'dep-big' }),
      ],
      router_settings: { ...learned('llmrouter-knn', { model_path: artifactA }), num_retries: 1 },
    }));
    const r = await chat(gw, 'g', { content: codeQuestion(9) });
    assert.equal(r.status, 200, explain(r));
    // coder-7b (1.0) failed; big-70b (0.5) beats math-7b (0.0) on code.
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-big', explain(r));
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1');
  });

  it('without an artifact: every request is served by the fallback strategy, one warning; SIGHUP loads it once there', T, async (t) => {
    const missing = file('later/knn.syra');
    const { gw } = await routerSetup(t, (u) => ({
      model_list: group(u),
      router_settings: learned('llmrouter-knn', { model_path: missing }),
    }));
    const seen = new Set();
    for (let i = 0; i < 12; i++) {
      const r = await chat(gw, 'g', { content: codeQuestion(i) });
      assert.equal(r.status, 200, explain(r));
      seen.add(r.headers.get('x-litellm-model-id'));
    }
    assert.ok(seen.size > 1, `simple-shuffle spreads the requests: ${[...seen]}`);
    assert.equal(logCount(gw, 'learned routing artifact unavailable; routing by the fallback strategy until a valid one loads'), 1, gw.stderr);

    await fs.mkdir(path.dirname(missing), { recursive: true });
    await replace(missing, artifactA);
    gw.proc.kill('SIGHUP');
    await waitFor(() => logCount(gw, 'learned routing artifact loaded') === 1, { timeoutMs: 10_000, message: 'the artifact loaded' });
    for (let i = 0; i < 4; i++) {
      const r = await chat(gw, 'g', { content: codeQuestion(i + 20) });
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-coder', explain(r));
    }
    assert.ok(gw.running, 'SIGHUP does not stop the gateway');
  });
});

describe('learned routing: route spans', { timeout: 120_000 }, () => {
  let receiver;
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    ({ receiver, gw } = await startTracedGateway({
      config: {
        model_list: group(upstream),
        general_settings: { master_key: 'sk-test-master' },
        router_settings: learned('llmrouter-knn', {
          model_path: artifactA,
          llm_data_path: file('models.json'),
          experiments: [{ name: 'shuffle', percent: 50, strategy: 'simple-shuffle' }],
        }),
      },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  const post = async (content, user, ua) => {
    const res = await fetch(gw.url('/v1/chat/completions'), {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-master', 'content-type': 'application/json', 'user-agent': ua },
      body: JSON.stringify({ model: 'g', user, messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    return res;
  };

  it('router.* attributes of a learned decision, and the experiment arm by user', T, async () => {
    const loaded = gw.logLines().find((l) => l.msg === 'learned routing artifact loaded');
    assert.ok(loaded, gw.stderr);
    assert.match(loaded.checksum, /^[0-9a-f]{16,}$/);
    const checksumA = loaded.checksum;
    const arms = new Map();
    for (let i = 0; i < 24; i++) {
      const ua = uniqueUa('learned');
      const res = await post(codeQuestion(i), `user-${i}`, ua);
      assert.equal(res.status, 200);
      const { route, server } = await requestSpans(receiver, ua, { minChildren: 2 });
      assert.equal(route.length, 1, describeSpan(server));
      const s = route[0];
      assertAttr(s, 'router.experiment_arm', (v) => v === 'main' || v === 'shuffle', 'string');
      assertAttr(s, 'router.latency_ms', (v) => v >= 0, 'double');
      assertAttr(s, 'router.candidates_evaluated', 3, 'int');
      assertAttr(server, 'switchyard.request_id', res.headers.get('x-request-id'), 'string');
      const arm = s.attributes['router.experiment_arm'];
      arms.set(`user-${i}`, arm);
      if (arm === 'main') {
        assertAttr(s, 'router.strategy', 'llmrouter-knn', 'string');
        assertAttr(s, 'router.strategy_version', checksumA, 'string');
        assertAttr(s, 'router.model_selected', 'coder-7b', 'string');
        assertAttr(s, 'router.learned_model', 'coder-7b', 'string');
        assertAttr(s, 'router.deployment_id', 'dep-coder', 'string');
        assertAttr(s, 'router.decision_reason', 'predicted_quality', 'string');
        assertAttr(s, 'router.score', (v) => v > 0.5 && v <= 1, 'double');
        assert.equal(res.headers.get('x-litellm-model-id'), 'dep-coder');
      } else {
        assertAttr(s, 'router.strategy', 'simple-shuffle', 'string');
        assert.ok(!('router.strategy_version' in s.attributes), describeSpan(s));
        assertAttr(s, 'router.decision_reason', 'uniform_random', 'string');
      }
      assert.ok(!('router.routing_text' in s.attributes), 'the routing text is off by default');
    }
    const counts = [...arms.values()].reduce((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
    assert.ok(counts.main > 0 && counts.shuffle > 0, `both arms get users: ${JSON.stringify(counts)}`);
    // The same user stays on the same arm.
    for (const user of ['user-0', 'user-1', 'user-2', 'user-3']) {
      const ua = uniqueUa('again');
      await post(mathQuestion(1), user, ua);
      const { route } = await requestSpans(receiver, ua, { minChildren: 2 });
      assertAttr(route[0], 'router.experiment_arm', arms.get(user), 'string');
    }
  });
});

describe('learned routing: reload under load', { timeout: 180_000 }, () => {
  /**
   * Sends code questions from `workers` loops until stop(); every answer is recorded ({status, id, at}).
   * Resolves the list when stopped.
   */
  function load(gw, workers = 3) {
    const results = [];
    let running = true;
    let n = 0;
    const loops = Array.from({ length: workers }, async () => {
      while (running) {
        const at = Date.now();
        const r = await chat(gw, 'g', { content: codeQuestion(n++) }).catch((e) => ({ status: 0, error: e, headers: new Headers() }));
        results.push({ status: r.status, id: r.headers.get('x-litellm-model-id'), at, error: r.error?.message });
      }
    });
    return {
      results,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        return results;
      },
    };
  }

  const assertNoneLost = (results) => {
    const failed = results.filter((r) => r.status !== 200);
    assert.equal(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`);
    assert.ok(results.length > 20, `enough requests: ${results.length}`);
  };

  it('SIGHUP swaps the artifact while requests flow; a corrupt file keeps the old one; no request is lost', T, async (t) => {
    const live = file('live-sighup.syra');
    await replace(live, artifactA);
    const { gw } = await routerSetup(t, (u) => ({
      model_list: group(u),
      router_settings: learned('llmrouter-knn', { model_path: live }),
    }));
    const traffic = load(gw);
    await waitFor(() => traffic.results.length >= 10, { timeoutMs: 10_000, message: 'traffic' });
    assert.ok(traffic.results.every((r) => r.id === 'dep-coder' || r.status !== 200), JSON.stringify(traffic.results.slice(0, 3)));

    await replace(live, artifactB);
    gw.proc.kill('SIGHUP');
    await waitFor(() => logCount(gw, 'learned routing artifact loaded') === 2, { timeoutMs: 10_000, message: 'artifact B loaded' });
    const swappedAt = Date.now();
    await waitFor(() => traffic.results.filter((r) => r.at > swappedAt).length >= 10, { timeoutMs: 10_000, message: 'traffic after the swap' });

    await replace(live, Buffer.from('SYRA but not really an artifact'));
    gw.proc.kill('SIGHUP');
    await waitFor(() => logCount(gw, 'learned routing artifact rejected; the loaded one stays in use') === 1, {
      timeoutMs: 10_000,
      message: 'the corrupt file rejected',
    });
    const rejectedAt = Date.now();
    await waitFor(() => traffic.results.filter((r) => r.at > rejectedAt).length >= 10, { timeoutMs: 10_000, message: 'traffic after the corrupt file' });

    const results = await traffic.stop();
    assertNoneLost(results);
    const after = results.filter((r) => r.at > swappedAt);
    assert.ok(after.every((r) => r.id === 'dep-math'), `after the swap artifact B routes code to math-7b (also after the corrupt file): ${JSON.stringify(after.filter((r) => r.id !== 'dep-math').slice(0, 3))}`);
    const rejected = gw.logLines().find((l) => l.msg === 'learned routing artifact rejected; the loaded one stays in use');
    assert.match(rejected.error, /artifact/i, JSON.stringify(rejected));
    assert.ok(gw.running);
  });

  it('hot_reload picks up a replaced file on its own; no request is lost', T, async (t) => {
    const live = file('live-hot.syra');
    await replace(live, artifactA);
    const { gw } = await routerSetup(t, (u) => ({
      model_list: group(u),
      router_settings: learned('llmrouter-knn', { model_path: live, hot_reload: true, reload_interval: 0.1 }),
    }));
    const traffic = load(gw);
    await waitFor(() => traffic.results.length >= 10, { timeoutMs: 10_000, message: 'traffic' });
    await replace(live, artifactB);
    await waitFor(() => traffic.results.some((r) => r.id === 'dep-math'), { timeoutMs: 15_000, message: 'a request routed by artifact B' });
    const results = await traffic.stop();
    assertNoneLost(results);
    assert.equal(logCount(gw, 'learned routing artifact loaded'), 2, gw.stderr);
  });
});

describe('traces -> dataset -> train', { timeout: 120_000 }, () => {
  it('route spans with trace_routing_text and a feedback file make training lines that train an artifact', T, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const { receiver, gw } = await startTracedGateway({
      protocol: 'http/json',
      config: {
        model_list: group(upstream),
        router_settings: learned('llmrouter-knn', { model_path: artifactA, trace_routing_text: true }),
      },
    });
    t.after(() => receiver.close());
    t.after(() => gw.stop());
    const served = []; // [request id, model that served it]
    for (let i = 0; i < 6; i++) {
      const id = `dataset-req-${i}`;
      const content = i % 2 ? mathQuestion(i + 40) : codeQuestion(i + 40);
      const r = await chat(gw, 'g', { content, headers: { 'x-request-id': id } });
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-request-id'), id);
      served.push([id, { 'dep-coder': 'coder-7b', 'dep-math': 'math-7b', 'dep-big': 'big-70b' }[r.headers.get('x-litellm-model-id')]]);
    }
    await receiver.waitForSpans(12, {
      filter: (s) => s.name === 'route' || s.attributes['switchyard.request_id']?.startsWith('dataset-req-'),
      timeoutMs: 10_000,
    });
    const route = receiver.spans().find((s) => s.name === 'route');
    assertAttr(route, 'router.routing_text', (v) => v.includes('function') || v.includes('times'), 'string');
    // The exports as the gateway sent them, one OTLP/JSON document a line (a collector's file exporter's shape).
    await fs.writeFile(file('spans.jsonl'), receiver.exports.map((e) => JSON.stringify(e.json)).join('\n') + '\n');
    // Feedback: the served model was right (its name comes from the route span) and, for the first four requests,
    // an evaluator scored the two other models too; request 4 has the served model's score only.
    const feedback = [];
    for (const [id, model] of served.slice(0, 4)) {
      feedback.push({ request_id: id, score: 1 });
      for (const other of Object.keys(MODELS).filter((m) => m !== model)) feedback.push({ request_id: id, model: other, score: 0 });
    }
    feedback.push({ request_id: served[4][0], score: 1 }, { request_id: 'no-such-request', score: 1 });
    await fs.writeFile(file('feedback.jsonl'), feedback.map((f) => JSON.stringify(f)).join('\n') + '\n');
    const r = await runBinary(['traces-to-dataset', '--spans', file('spans.jsonl'), '--feedback', file('feedback.jsonl'), '--out', file('from-traces.jsonl')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /14 feedback lines: 13 joined, 1 with an unknown request id, 0 without routing text, 0 without a model; 1 queries left out/, r.stdout);
    const lines = (await fs.readFile(file('from-traces.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 4, JSON.stringify(lines));
    assert.ok(lines[0].query.includes('function'), JSON.stringify(lines[0]));
    assert.deepEqual(lines[0].scores, { 'coder-7b': 1, 'big-70b': 0, 'math-7b': 0 });
    assert.deepEqual(lines[1].scores, { 'math-7b': 1, 'big-70b': 0, 'coder-7b': 0 });
    // And `train` takes them.
    const trained = await runBinary(['train', '--strategy', 'knn', '--data', file('from-traces.jsonl'), '--models', file('models.json'), '--out', file('from-traces')], {
      timeoutMs: 60_000,
    });
    assert.equal(trained.code, 0, trained.stderr + trained.stdout);
  });
});
