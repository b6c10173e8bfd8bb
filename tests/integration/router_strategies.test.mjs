// Routing strategies end to end: simple-shuffle (weights), least-busy (in-flight requests), latency-based-routing
// (measured latency, lowest_latency_buffer), cost-based-routing (model_info costs, built-in prices) and
// usage-based-routing (tokens this minute).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/gateway.mjs';
import { dep, routerSetup, chat, counts, explain, clearOfMinuteBoundary } from './lib/router.mjs';

const T = { timeout: 20_000 };

/** Sends `n` requests to `group` one after another; resolves the x-litellm-model-id of each. */
async function sequential(gw, group, n, opts = {}) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await chat(gw, group, opts);
    assert.equal(r.status, 200, explain(r));
    ids.push(r.headers.get('x-litellm-model-id'));
  }
  return ids;
}

const tally = (ids) => ids.reduce((m, id) => ({ ...m, [id]: (m[id] ?? 0) + 1 }), {});

describe('routing strategies', { timeout: 60_000 }, () => {
  describe('simple-shuffle', () => {
    it('weight 0 is never chosen while a deployment of weight 1 is usable', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'ok-zero', u, { weight: 0 }), dep('g', 'ok-one', u, { weight: 1 })],
      }));
      await sequential(gw, 'g', 20);
      assert.deepEqual(counts(upstream, ['ok-zero', 'ok-one']), { 'ok-zero': 0, 'ok-one': 20 });
    });

    it('weights 9 : 1 share the requests about 9 : 1; without weights both deployments are used', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          dep('w', 'ok-heavy', u, { weight: 9 }),
          dep('w', 'ok-light', u, { weight: 1 }),
          dep('u', 'ok-u1', u),
          dep('u', 'ok-u2', u),
        ],
      }));
      await sequential(gw, 'w', 100);
      const c = counts(upstream, ['ok-heavy', 'ok-light']);
      // expected 90 : 10; the bounds are more than six standard deviations away
      assert.ok(c['ok-heavy'] >= 70 && c['ok-light'] >= 1, JSON.stringify(c));
      await sequential(gw, 'u', 30);
      const d = counts(upstream, ['ok-u1', 'ok-u2']);
      assert.ok(d['ok-u1'] >= 1 && d['ok-u2'] >= 1, `uniform shuffle used only one deployment: ${JSON.stringify(d)}`);
    });
  });

  it('least-busy: concurrent requests spread over the deployments by their in-flight count', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'gated-a', u, {}, { id: 'a' }), dep('g', 'gated-b', u, {}, { id: 'b' })],
      router_settings: { routing_strategy: 'least-busy' },
    }));
    const pending = [];
    const order = [];
    t.after(() => upstream.release());
    for (let i = 0; i < 4; i++) {
      pending.push(chat(gw, 'g'));
      // the next request starts once this one is in flight upstream
      await waitFor(() => upstream.requests.length === i + 1, { timeoutMs: 5000, message: `request ${i + 1} upstream` });
      order.push(upstream.requests[i].model);
    }
    assert.notEqual(order[1], order[0], `the second request went to the busy deployment: ${order}`);
    assert.notEqual(order[3], order[2], `the fourth request went to the busier deployment: ${order}`);
    assert.deepEqual(counts(upstream, ['gated-a', 'gated-b']), { 'gated-a': 2, 'gated-b': 2 });
    upstream.release();
    for (const r of await Promise.all(pending)) assert.equal(r.status, 200, explain(r));
  });

  describe('latency-based-routing', () => {
    it('after one measurement of each, every request goes to the faster deployment', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'slow-150', u, {}, { id: 'slow' }), dep('g', 'ok-fast', u, {}, { id: 'fast' })],
        router_settings: { routing_strategy: 'latency-based-routing' },
      }));
      const ids = await sequential(gw, 'g', 12);
      // a deployment never measured counts as fastest: the first two requests measure one each
      assert.deepEqual(tally(ids.slice(0, 2)), { slow: 1, fast: 1 }, `warm-up: ${ids}`);
      assert.deepEqual(ids.slice(2), Array(10).fill('fast'), `after warm-up: ${ids}`);
      assert.equal(upstream.requestsFor('slow-150').length, 1);
    });

    it('a deployment whose attempts time out is not ranked fastest again', {
      ...T,
    }, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'hang', u, { timeout: 0.3 }, { id: 'hang' }), dep('g', 'ok-fast', u, {}, { id: 'fast' })],
        // a high allowed_fails keeps the cooldown from hiding how the strategy ranks
        router_settings: { routing_strategy: 'latency-based-routing', num_retries: 1, allowed_fails: 100 },
      }));
      const ids = await sequential(gw, 'g', 4);
      assert.deepEqual(ids, Array(4).fill('fast'), 'every request is answered by the fast deployment after a retry');
      assert.ok(
        upstream.requestsFor('hang').length <= 1,
        `the deployment that timed out was tried first by ${upstream.requestsFor('hang').length} of 4 requests`,
      );
    });

    it('lowest_latency_buffer: deployments within the buffer of the fastest share the requests', T, async (t) => {
      const { gw } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'slow-60', u, {}, { id: 'slow' }), dep('g', 'ok-fast', u, {}, { id: 'fast' })],
        router_settings: { routing_strategy: 'latency-based-routing', routing_strategy_args: { lowest_latency_buffer: 1000 } },
      }));
      const ids = await sequential(gw, 'g', 20);
      const after = tally(ids.slice(2));
      assert.ok((after.slow ?? 0) >= 1 && (after.fast ?? 0) >= 1, `both within a buffer of 1000x should be used: ${ids}`);
    });
  });

  it('cost-based-routing: the cheapest by model_info costs; built-in prices; an unknown price sorts last', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        dep('costs', 'ok-pricey', u, {}, { input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }),
        dep('costs', 'ok-cheap', u, {}, { input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000004 }),
        dep('costs', 'ok-unpriced', u),
        // the mock answers any model id; these are priced by the built-in table
        dep('builtin', 'gpt-4o', u),
        dep('builtin', 'gpt-4o-mini', u),
        dep('unknown', 'mystery-model', u),
        dep('unknown', 'gpt-4', u),
      ],
      router_settings: { routing_strategy: 'cost-based-routing' },
    }));
    await sequential(gw, 'costs', 8);
    await sequential(gw, 'builtin', 8);
    await sequential(gw, 'unknown', 8);
    assert.deepEqual(counts(upstream, ['ok-pricey', 'ok-cheap', 'ok-unpriced', 'gpt-4o', 'gpt-4o-mini', 'mystery-model', 'gpt-4']), {
      'ok-pricey': 0,
      'ok-cheap': 8,
      'ok-unpriced': 0,
      'gpt-4o': 0,
      'gpt-4o-mini': 8,
      'mystery-model': 0,
      'gpt-4': 8,
    });
  });

  it('usage-based-routing: the deployment that used fewer tokens this minute is chosen', T, async (t) => {
    await clearOfMinuteBoundary(5000);
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'ok-a', u, { tpm: 100_000 }, { id: 'a' }), dep('g', 'ok-b', u, { tpm: 100_000 }, { id: 'b' })],
      router_settings: { routing_strategy: 'usage-based-routing' },
    }));
    // identical requests use identical tokens: after each pair both deployments have used the same
    const ids = await sequential(gw, 'g', 6, { content: 'same words every time' });
    for (let i = 0; i < 6; i += 2) assert.notEqual(ids[i + 1], ids[i], `requests ${i + 1} and ${i + 2} went to the same deployment: ${ids}`);
    assert.deepEqual(tally(ids), { a: 3, b: 3 });
  });
});
