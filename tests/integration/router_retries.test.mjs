// Router retries: which failures are retried and how often (num_retries, retry_policy, model_group_retry_policy,
// a deployment's max_retries), where the retry goes (another deployment at once, else the same one after a wait)
// and how long it waits (upstream Retry-After, retry_after, max_retry_after, exponential backoff); connection
// failures are retried like 5xx.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertOpenAIError, closedPort, postJson, waitFor, MASTER_KEY } from './lib/gateway.mjs';
import { dep, routerSetup, chat, abortableChat, counts, explain } from './lib/router.mjs';

const T = { timeout: 15_000 };

describe('router retries', { timeout: 60_000 }, () => {
  describe('429 then success', () => {
    it('one deployment: retried after Retry-After: 0, 200, two upstream requests, x-litellm-attempted-retries: 1', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'fail-1-429-ra0', u)] }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.json.model, 'g');
      assert.equal(upstream.requestsFor('fail-1-429-ra0').length, 2, 'the 429 and the retry');
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
      assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0', explain(r));
      // the 429 put the only deployment in cooldown: it was still tried, and the response says so
      assert.equal(r.headers.get('x-switchyard-cooldown'), 'all-deployments-cooling-down', explain(r));
    });

    it('one deployment: the retry waits for the upstream Retry-After (1 s)', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'fail-1-429-ra1', u)] }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      const [first, second] = upstream.requestsFor('fail-1-429-ra1');
      assert.ok(second, 'retried');
      assert.ok(second.time - first.time >= 900, `the retry came ${second.time - first.time} ms after a 429 with Retry-After: 1`);
    });

    it('two deployments: the retry goes to the other deployment at once, without the Retry-After wait', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          // weight 1 vs 0: the failing deployment is always picked first
          dep('g', 'status-429-ra5', u, { weight: 1 }, { id: 'dep-limited' }),
          dep('g', 'ok-b', u, { weight: 0 }, { id: 'dep-ok' }),
        ],
      }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.deepEqual(counts(upstream, ['status-429-ra5', 'ok-b']), { 'status-429-ra5': 1, 'ok-b': 1 });
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-ok', explain(r));
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
      assert.equal(r.headers.get('x-switchyard-cooldown'), null, 'the other deployment was not cooling down');
      assert.ok(r.ms < 3000, `took ${r.ms} ms: it waited for the Retry-After of 5 s`);
    });
  });

  it('retries try every untried deployment first, each once, without waiting for their Retry-After', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'status-500-ra5-a', u), dep('g', 'status-503-ra5-b', u), dep('g', 'ok-c', u, {}, { id: 'dep-c' })],
      router_settings: { num_retries: 2 },
    }));
    for (let i = 0; i < 5; i++) {
      const before = counts(upstream, ['status-500-ra5-a', 'status-503-ra5-b', 'ok-c']);
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-c');
      const after = counts(upstream, ['status-500-ra5-a', 'status-503-ra5-b', 'ok-c']);
      for (const id of Object.keys(after)) assert.ok(after[id] - before[id] <= 1, `${id} tried twice in one request: ${JSON.stringify({ before, after })}`);
      assert.ok(r.ms < 3000, `took ${r.ms} ms: waited for a Retry-After of 5 s`);
    }
  });

  it('legacy completions and embeddings are retried like chat', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('c', 'fail-1-500-ra0-c', u), dep('e', 'fail-1-502-ra0-e', u)],
    }));
    const c = await postJson(gw, '/v1/completions', { model: 'c', prompt: 'hello' }, { key: MASTER_KEY });
    assert.equal(c.status, 200, explain(c));
    assert.equal(c.json.object, 'text_completion');
    assert.equal(c.headers.get('x-litellm-attempted-retries'), '1');
    const e = await postJson(gw, '/v1/embeddings', { model: 'e', input: 'hello' }, { key: MASTER_KEY });
    assert.equal(e.status, 200, explain(e));
    assert.equal(e.json.object, 'list');
    assert.equal(e.headers.get('x-litellm-attempted-retries'), '1');
    assert.deepEqual(counts(upstream, ['fail-1-500-ra0-c', 'fail-1-502-ra0-e']), { 'fail-1-500-ra0-c': 2, 'fail-1-502-ra0-e': 2 });
  });

  describe('5xx', () => {
    it('500 storm, num_retries 2 (the default): three attempts with growing backoff, then the 500 in OpenAI shape', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'status-500-nora', u)] }));
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 500, type: 'server_error', code: 'upstream_500' }, explain(r));
      const reqs = upstream.requestsFor('status-500-nora');
      assert.equal(reqs.length, 3, 'one attempt and two retries');
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '2', explain(r));
      // exponential backoff without a Retry-After: about 0.5 s, then about 1 s (less up to a quarter of jitter)
      const gap1 = reqs[1].time - reqs[0].time;
      const gap2 = reqs[2].time - reqs[1].time;
      assert.ok(gap1 >= 300, `first retry after ${gap1} ms: no backoff`);
      assert.ok(gap2 >= 650, `second retry after ${gap2} ms: the backoff did not grow`);
    });

    it('num_retries 0: one attempt', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'status-500-ra0', u)],
        router_settings: { num_retries: 0 },
      }));
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 500 }, explain(r));
      assert.equal(upstream.requestsFor('status-500-ra0').length, 1);
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '0', explain(r));
    });

    it('every retryable status (408, 429, 500, 502, 503, 504) is retried; 400, 401, 403, 404, 422 never are', T, async (t) => {
      const retryable = [408, 429, 500, 502, 503, 504];
      const final = [400, 401, 403, 404, 422];
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [...retryable, ...final].map((code) => dep(`g${code}`, `status-${code}-ra0`, u)),
        router_settings: { num_retries: 1 },
      }));
      for (const code of retryable) {
        const r = await chat(gw, `g${code}`);
        assertOpenAIError(r, { status: code }, `status ${code}`);
        assert.equal(upstream.requestsFor(`status-${code}-ra0`).length, 2, `${code} is retried once`);
        assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', `${code}: ${explain(r)}`);
      }
      for (const code of final) {
        const r = await chat(gw, `g${code}`);
        assertOpenAIError(r, { status: code }, `status ${code}`);
        assert.equal(upstream.requestsFor(`status-${code}-ra0`).length, 1, `${code} must not be retried`);
        assert.equal(r.headers.get('x-litellm-attempted-retries'), '0', `${code}: ${explain(r)}`);
      }
    });

    it('a 400 is not retried on another deployment of the group either', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'status-400', u, { weight: 1 }), dep('g', 'ok-b', u, { weight: 0 })],
        router_settings: { num_retries: 3 },
      }));
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'upstream_400' }, explain(r));
      assert.deepEqual(counts(upstream, ['status-400', 'ok-b']), { 'status-400': 1, 'ok-b': 0 });
    });
  });

  describe('retry policies', () => {
    it('retry_policy overrides num_retries per failure class', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('e500', 'status-500-ra0', u), dep('e429', 'status-429-ra0', u), dep('e504', 'status-504-ra0', u)],
        router_settings: {
          num_retries: 2,
          retry_policy: { InternalServerErrorRetries: 1, RateLimitErrorRetries: 0, TimeoutErrorRetries: 3 },
        },
      }));
      for (const [group, id, attempts] of [
        ['e500', 'status-500-ra0', 2],
        ['e429', 'status-429-ra0', 1],
        ['e504', 'status-504-ra0', 4],
      ]) {
        const r = await chat(gw, group);
        assert.equal(upstream.requestsFor(id).length, attempts, `${group}: ${explain(r)}`);
        assert.equal(r.headers.get('x-litellm-attempted-retries'), String(attempts - 1), `${group}: ${explain(r)}`);
      }
    });

    it('model_group_retry_policy wins over retry_policy and num_retries for its group only', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('special', 'status-500-ra0-s', u), dep('plain', 'status-500-ra0-p', u)],
        router_settings: {
          num_retries: 2,
          retry_policy: { InternalServerErrorRetries: 0 },
          model_group_retry_policy: { special: { InternalServerErrorRetries: 3 } },
        },
      }));
      await chat(gw, 'special');
      await chat(gw, 'plain');
      assert.deepEqual(counts(upstream, ['status-500-ra0-s', 'status-500-ra0-p']), { 'status-500-ra0-s': 4, 'status-500-ra0-p': 1 });
    });

    it("a deployment's max_retries wins over every router setting", T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          dep('one', 'status-500-ra0-one', u, { max_retries: 1 }),
          dep('none', 'status-500-ra0-none', u, { max_retries: 0 }),
        ],
        router_settings: {
          num_retries: 2,
          retry_policy: { InternalServerErrorRetries: 2 },
          model_group_retry_policy: { one: { InternalServerErrorRetries: 3 }, none: { InternalServerErrorRetries: 3 } },
        },
      }));
      await chat(gw, 'one');
      await chat(gw, 'none');
      assert.deepEqual(counts(upstream, ['status-500-ra0-one', 'status-500-ra0-none']), {
        'status-500-ra0-one': 2,
        'status-500-ra0-none': 1,
      });
    });
  });

  describe('waits', () => {
    it('a Retry-After above max_retry_after is not waited for: the error comes back at once', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('default-max', 'status-429-ra120', u), dep('low-max', 'status-429-ra2', u)],
        router_settings: { num_retries: 2, max_retry_after: 1 },
      }));
      for (const [group, id, ra] of [
        ['default-max', 'status-429-ra120', '120'],
        ['low-max', 'status-429-ra2', '2'],
      ]) {
        const r = await chat(gw, group);
        assertOpenAIError(r, { status: 429, type: 'rate_limit_error' }, explain(r));
        assert.equal(upstream.requestsFor(id).length, 1, `${group}: no retry`);
        assert.equal(r.headers.get('retry-after'), ra, `${group}: the upstream Retry-After is passed on`);
        assert.ok(r.ms < 1500, `${group}: took ${r.ms} ms`);
      }
    });

    it('a client that goes away during the wait before a retry: no retry is sent', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'status-500-ra1', u)], router_settings: { num_retries: 2 } }));
      const gone = abortableChat(gw, 'g');
      await upstream.waitForRequest((r) => r.model === 'status-500-ra1');
      gone.abort();
      await gone.done;
      // the retry would come 1 s after the first attempt: watch for it (bounded) well past that
      const retried = await waitFor(() => upstream.requestsFor('status-500-ra1').length > 1, { timeoutMs: 2000 }).then(
        () => true,
        () => false,
      );
      assert.equal(retried, false, 'the gateway retried for a client that had gone');
    });

    it('retry_after is the minimum wait before retrying the same deployment', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'fail-1-500-ra0', u)],
        router_settings: { num_retries: 1, retry_after: 1 },
      }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      const [first, second] = upstream.requestsFor('fail-1-500-ra0');
      assert.ok(second, 'retried');
      assert.ok(second.time - first.time >= 900, `retried ${second.time - first.time} ms after a Retry-After: 0 with retry_after: 1`);
    });
  });

  describe('connection failures', () => {
    it('connection reset: retried on the other deployment, which answers', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'reset-a', u, { weight: 1 }), dep('g', 'ok-b', u, { weight: 0 }, { id: 'dep-ok' })],
      }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.deepEqual(counts(upstream, ['reset-a', 'ok-b']), { 'reset-a': 1, 'ok-b': 1 });
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-ok');
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
    });

    it('connection reset on the only deployment: retried after a backoff, then 200', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('g', 'fail-1-reset', u)],
        router_settings: { num_retries: 1 },
      }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.equal(upstream.requestsFor('fail-1-reset').length, 2);
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
    });

    it('connection refused: retried on the other deployment; when every deployment refuses, a 502 after the retries', T, async (t) => {
      const dead = `http://127.0.0.1:${await closedPort()}/v1`;
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          dep('g', 'ok-dead', dead, { weight: 1 }, { id: 'dep-dead' }),
          dep('g', 'ok-b', u, { weight: 0 }, { id: 'dep-ok' }),
          dep('all-dead', 'ok-dead', dead),
        ],
        router_settings: { num_retries: 1, retry_after: 0 },
      }));
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-ok');
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
      assert.equal(upstream.requestsFor('ok-b').length, 1);

      const e = await chat(gw, 'all-dead');
      assertOpenAIError(e, { status: 502, code: 'upstream_unreachable' }, explain(e));
      assert.equal(e.headers.get('x-litellm-attempted-retries'), '1', explain(e));
    });

    it('num_retries 0: a POST the upstream read and then reset is not sent again (not even on a reused connection)', {
      ...T,
    }, async (t) => {
      // One worker, so the second request finds the first one's keep-alive connection in the pool.
      const { gw, upstream } = await routerSetup(
        t,
        (u) => ({ model_list: [dep('ok', 'ok-warm', u), dep('g', 'reset-x', u)], router_settings: { num_retries: 0 } }),
        { workers: 1 },
      );
      const warm = await chat(gw, 'ok');
      assert.equal(warm.status, 200, explain(warm));
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 502 }, explain(r));
      assert.equal(upstream.requestsFor('reset-x').length, 1, 'the upstream got the whole POST twice (RFC 9110 9.2.2: a non-idempotent request is not retried automatically)');
    });
  });
});
