// Learned routing on external embeddings end to end. The training prompts are "Please handle ticket number N."
// with a distinct N each: coder-7b answers them well when N is even, math-7b when N is odd. The gateway's
// built-in featurizer sees the same features for every N; the mock upstream's `embed-parity` embeddings tell
// even from odd. Training goes through the real binary (`switchyard embed` through a gateway's /v1/embeddings,
// then `switchyard train --embeddings`), and a gateway routes with embedding_model set. Checked: routing follows
// the embedding (x-litellm-model-id, chat completions and /v1/messages), a cache hit makes no second upstream
// embeddings call, an embeddings
// upstream that hangs or answers 500 still gets every request routed (by the built-in model: both kinds to the
// same deployment) with the route span saying "timeout" or "error", and no key reaches spans or logs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBinary, startGateway, waitFor, MASTER_KEY, UPSTREAM_KEY } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { dep, explain } from './lib/router.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, describeSpan, assertNoSecretsInSpans } from './lib/tracing.mjs';

const T = { timeout: 60_000 };

const MODELS = {
  'big-70b': { size: '70B', input_price_per_mtok: 0.9, output_price_per_mtok: 0.9 },
  'coder-7b': { size: '7B', input_price_per_mtok: 0.2, output_price_per_mtok: 0.2 },
  'math-7b': { size: '7B', input_price_per_mtok: 0.1, output_price_per_mtok: 0.1 },
};

const ticket = (n) => `Please handle ticket number ${n}.`;

function dataset() {
  const rows = [];
  for (let n = 1000; n < 1120; n++) {
    const even = n % 2 === 0;
    rows.push({ query: ticket(n), scores: { 'big-70b': 0.4, 'coder-7b': even ? 1 : 0, 'math-7b': even ? 0 : 1 } });
  }
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

let dir;
let upstream;
let artifact;
const file = (name) => path.join(dir, name);

/** The embeddings calls the upstream got for model id `id`. */
const embeddingCalls = (id) => upstream.requestsFor(id).filter((r) => r.path.endsWith('/embeddings'));

const group = (u, embeddingDeps) => [
  dep('g', 'coder-7b', u, {}, { id: 'dep-coder' }),
  dep('g', 'math-7b', u, {}, { id: 'dep-math' }),
  dep('g', 'big-70b', u, {}, { id: 'dep-big' }),
  ...embeddingDeps,
];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'switchyard-embeddings-'));
  await fs.writeFile(file('models.json'), JSON.stringify(MODELS));
  await fs.writeFile(file('train.jsonl'), dataset());
  upstream = await startMockUpstream();
  // A plain gateway serving the embedding model, for `switchyard embed`.
  const gw = await startGateway({
    config: { model_list: [dep('embed', 'embed-parity', upstream)], general_settings: { master_key: MASTER_KEY } },
    workers: 1,
  });
  try {
    const r = await runBinary(
      ['embed', '--url', gw.url(''), '--model', 'embed', '--data', file('train.jsonl'), '--out', file('emb.jsonl'), '--batch', '16'],
      { env: { SWITCHYARD_API_KEY: MASTER_KEY }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /embedded 120 queries with embed \(dimension 4\)/, r.stdout);
    assert.ok(!(r.stdout + r.stderr).includes(MASTER_KEY), 'embed never prints the key');
    assert.equal(embeddingCalls('embed-parity').length, Math.ceil(120 / 16), 'one upstream call per batch of 16');
    // A wrong key: a clear error without the key.
    const denied = await runBinary(
      ['embed', '--url', gw.url(''), '--model', 'embed', '--key', 'sk-wrong-key-42', '--data', file('train.jsonl'), '--out', file('denied.jsonl')],
      { timeoutMs: 30_000 },
    );
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /answered 401/, denied.stderr);
    assert.ok(!denied.stderr.includes('sk-wrong-key-42'), denied.stderr);
  } finally {
    await gw.stop();
  }
  const lines = (await fs.readFile(file('emb.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 120);
  assert.deepEqual(Object.keys(lines[0]).sort(), ['embedding', 'model', 'query']);
  assert.equal(lines[0].query, ticket(1000));
  assert.equal(lines[0].model, 'embed');
  assert.deepEqual(lines[0].embedding.slice(0, 2), [1, 0]);
  assert.deepEqual(lines[1].embedding.slice(0, 2), [0, 1]);

  const r = await runBinary(
    ['train', '--strategy', 'knn', '--data', file('train.jsonl'), '--embeddings', file('emb.jsonl'), '--models', file('models.json'), '--out', file('art')],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /with embeddings of dimension 4 from model embed/, r.stdout);
  artifact = file('art/knn.syra');
});

after(async () => {
  await upstream?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('learned routing on embeddings', { timeout: 180_000 }, () => {
  /** A traced gateway (one worker: one cache) routing group g with `embedding_model`; stopped after the test. */
  async function setup(t, embeddingModel, embeddingDeps) {
    const { receiver, gw } = await startTracedGateway({
      workers: 1,
      config: {
        model_list: group(upstream, embeddingDeps),
        general_settings: { master_key: MASTER_KEY },
        router_settings: {
          routing_strategy: 'llmrouter-knn',
          // llm_data_path prices the models: the built-in model's tie between coder-7b and math-7b goes to the
          // cheaper one, every time.
          routing_strategy_args: {
            model_path: artifact,
            llm_data_path: file('models.json'),
            embedding_model: embeddingModel,
            embedding_timeout_ms: 200,
          },
        },
      },
    });
    t.after(() => receiver.close());
    t.after(() => gw.stop());
    return { receiver, gw };
  }

  const post = async (gw, content) => {
    const ua = uniqueUa('embeddings');
    const res = await fetch(gw.url('/v1/chat/completions'), {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', 'user-agent': ua },
      body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, ua };
  };

  /** The route span of request `ua`, and its sibling embeddings CLIENT span when there is one. */
  async function spansOf(receiver, ua, minChildren) {
    const { route, clients, server } = await requestSpans(receiver, ua, { minChildren });
    assert.equal(route.length, 1, describeSpan(server));
    return { route: route[0], embedding: clients.find((s) => s.attributes['switchyard.routing_embedding'] === true) };
  }

  it('routes by the embedding; a repeated prompt is served from the cache without an upstream call', T, async (t) => {
    const { receiver, gw } = await setup(t, 'embed', [dep('embed', 'embed-parity', upstream, {}, { id: 'dep-embed' })]);
    const loaded = gw.logLines().find((l) => l.msg === 'learned routing artifact loaded');
    assert.ok(loaded, gw.stderr);
    assert.ok(!gw.logLines().some((l) => String(l.msg).includes('embedding')), 'no embeddings warning: ' + gw.stderr);
    for (let n = 5001; n <= 5008; n++) {
      const before = embeddingCalls('embed-parity').length;
      const r = await post(gw, ticket(n));
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), n % 2 === 0 ? 'dep-coder' : 'dep-math', `${ticket(n)}: ${explain(r)}`);
      assert.equal(embeddingCalls('embed-parity').length, before + 1, 'one embeddings call for a new prompt');
      assert.equal(embeddingCalls('embed-parity').at(-1).body.input, ticket(n), 'the routing text is what is embedded');
      const { route, embedding } = await spansOf(receiver, r.ua, 3);
      assertAttr(route, 'router.embedding', 'used', 'string');
      assertAttr(route, 'router.decision_reason', 'predicted_quality', 'string');
      assert.ok(embedding, 'an embeddings CLIENT span');
      assert.equal(embedding.name, 'embeddings embed-parity');
      assertAttr(embedding, 'router.model_group', 'embed', 'string');
      assertAttr(embedding, 'gen_ai.operation.name', 'embeddings', 'string');
    }
    // The same prompts again: answered from the cache, routed the same way.
    const calls = embeddingCalls('embed-parity').length;
    for (const n of [5001, 5002]) {
      const r = await post(gw, ticket(n));
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), n % 2 === 0 ? 'dep-coder' : 'dep-math', explain(r));
      const { route, embedding } = await spansOf(receiver, r.ua, 2);
      assertAttr(route, 'router.embedding', 'cached', 'string');
      assert.equal(embedding, undefined, 'no embeddings call on a cache hit');
    }
    assert.equal(embeddingCalls('embed-parity').length, calls, 'a cache hit makes no upstream embeddings call');
    // Anthropic's /v1/messages is routed the same way.
    for (const n of [5011, 5012]) {
      const res = await fetch(gw.url('/v1/messages'), {
        method: 'POST',
        headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'g', max_tokens: 32, messages: [{ role: 'user', content: ticket(n) }] }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(res.headers.get('x-litellm-model-id'), n % 2 === 0 ? 'dep-coder' : 'dep-math', ticket(n));
    }
    assert.equal(embeddingCalls('embed-parity').length, calls + 2);
  });

  /** Requests for both kinds of ticket; resolves the deployment each went to, checking the span says `status`. */
  async function routedWithout(receiver, gw, status) {
    const ids = [];
    for (const n of [6001, 6002, 6003, 6004]) {
      const r = await post(gw, ticket(n));
      assert.equal(r.status, 200, explain(r));
      ids.push(r.headers.get('x-litellm-model-id'));
      const { route, embedding } = await spansOf(receiver, r.ua, 3);
      assertAttr(route, 'router.embedding', status, 'string');
      assertAttr(route, 'router.decision_reason', 'predicted_quality', 'string');
      assert.ok(embedding, 'the failed embeddings call has its span');
      assert.equal(embedding.status?.code, 2, `the embeddings span is an error: ${describeSpan(embedding)}`);
    }
    // The built-in model sees the same features for every ticket: one deployment for both kinds.
    assert.equal(new Set(ids).size, 1, `the built-in model cannot tell the kinds apart: ${ids}`);
    return ids;
  }

  it('an embeddings upstream that hangs past embedding_timeout_ms: routed by the built-in model, span "timeout"', T, async (t) => {
    const { receiver, gw } = await setup(t, 'embed-hang', [dep('embed-hang', 'hang-emb', upstream)]);
    await routedWithout(receiver, gw, 'timeout');
    // The abandoned calls do not linger: the gateway closed their connections.
    await waitFor(() => upstream.requestsFor('hang-emb').every((r) => r.closedAt), {
      timeoutMs: 5000,
      message: 'the hanging embeddings calls closed',
    });
    assert.ok(gw.running);
  });

  it('an embeddings upstream answering 500: routed by the built-in model, span "error", no key anywhere', T, async (t) => {
    const { receiver, gw } = await setup(t, 'embed-500', [dep('embed-500', 'status-500-emb', upstream)]);
    const before = upstream.requestsFor('status-500-emb').length;
    await routedWithout(receiver, gw, 'error');
    assert.equal(upstream.requestsFor('status-500-emb').length - before, 4, 'failures are not cached: one call a request');
    assertNoSecretsInSpans(receiver.spans());
    assert.ok(!gw.stderr.includes(UPSTREAM_KEY) && !gw.stderr.includes(MASTER_KEY), 'no key in the logs');
  });
});

describe('train --embeddings', { timeout: 60_000 }, () => {
  it('a training row without an embedding is an error naming its line', T, async () => {
    const lines = (await fs.readFile(file('emb.jsonl'), 'utf8')).trim().split('\n');
    await fs.writeFile(file('partial.jsonl'), lines.filter((_, i) => i !== 6).join('\n') + '\n');
    const r = await runBinary(
      ['train', '--strategy', 'mlp', '--data', file('train.jsonl'), '--embeddings', file('partial.jsonl'), '--models', file('models.json'), '--out', file('bad')],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /train\.jsonl:7: no embedding for this query in .*partial\.jsonl/, r.stderr);
  });

  it('eval with and without the embeddings', T, async () => {
    const withEmb = await runBinary(['eval', '--artifact', artifact, '--data', file('train.jsonl'), '--models', file('models.json'), '--embeddings', file('emb.jsonl'), '--json']);
    assert.equal(withEmb.code, 0, withEmb.stderr);
    const a = JSON.parse(withEmb.stdout);
    assert.equal(a.embeddings_used, true);
    assert.equal(a.embedding_dimension, 4);
    assert.equal(a.points[0].accuracy, 1);
    const without = await runBinary(['eval', '--artifact', artifact, '--data', file('train.jsonl'), '--models', file('models.json')]);
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stdout, /without --embeddings its built-in-featurizer model is evaluated/);
  });
});
