// Router cooldowns (one 429/401/404 at once, other failures beyond allowed_fails in a minute; cooldown_time;
// disable_cooldowns; every deployment cooling down) and rpm/tpm caps (a deployment at its cap is skipped; every
// deployment at its cap: 429 with Retry-After).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertOpenAIError, classifyChatEvents, waitFor } from './lib/gateway.mjs';
import { dep, routerSetup, chat, chatStream, abortableChat, counts, explain, clearOfMinuteBoundary } from './lib/router.mjs';

const T = { timeout: 15_000 };
const COOLDOWN = 'x-switchyard-cooldown';

describe('router cooldowns', { timeout: 60_000 }, () => {
  it('after a 429 the deployment is skipped until cooldown_time has passed', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        // weight 1 vs 0: "a" is always chosen while it is not cooling down
        dep('g', 'fail-1-429-ra0', u, { weight: 1 }, { id: 'a' }),
        dep('g', 'ok-b', u, { weight: 0 }, { id: 'b' }),
      ],
      router_settings: { cooldown_time: 1 },
    }));
    const first = await chat(gw, 'g');
    assert.equal(first.status, 200, explain(first));
    assert.equal(first.headers.get('x-litellm-model-id'), 'b', 'the retry went to b');
    const failedAt = upstream.requestsFor('fail-1-429-ra0')[0].time;
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw, 'g');
      assert.equal(r.headers.get('x-litellm-model-id'), 'b', `request ${i + 2} while a cools down: ${explain(r)}`);
      assert.equal(r.headers.get(COOLDOWN), null);
    }
    assert.equal(upstream.requestsFor('fail-1-429-ra0').length, 1, 'a was not called while cooling down');
    // once the cooldown is over, a (weight 1) gets the requests again
    const back = await waitFor(
      async () => {
        const r = await chat(gw, 'g');
        return r.headers.get('x-litellm-model-id') === 'a' ? r : null;
      },
      { timeoutMs: 5000, intervalMs: 100, message: 'a chosen again after its cooldown' },
    );
    assert.equal(back.status, 200);
    const backAt = upstream.requestsFor('fail-1-429-ra0')[1].time;
    assert.ok(backAt - failedAt >= 900, `a was chosen again ${backAt - failedAt} ms after its 429, before cooldown_time (1 s)`);
  });

  it('401 and 404 cool a deployment down at once; a 500 only after more than allowed_fails in a minute', T, async (t) => {
    await clearOfMinuteBoundary(5000);
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: ['401', '404', '500'].flatMap((code) => [
        dep(`g${code}`, `status-${code}-ra0`, u, { weight: 1 }, { id: `bad-${code}` }),
        dep(`g${code}`, `ok-${code}`, u, { weight: 0 }, { id: `ok-${code}` }),
      ]),
      router_settings: { num_retries: 0, allowed_fails: 2, cooldown_time: 30 },
    }));
    for (const code of ['401', '404']) {
      const r1 = await chat(gw, `g${code}`);
      assertOpenAIError(r1, { status: Number(code) }, explain(r1));
      const r2 = await chat(gw, `g${code}`);
      assert.equal(r2.status, 200, `${code}: the next request skips the cooling deployment: ${explain(r2)}`);
      assert.equal(r2.headers.get('x-litellm-model-id'), `ok-${code}`);
    }
    // allowed_fails 2: the third failure within the minute starts the cooldown
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat(gw, 'g500')).status);
    assert.deepEqual(statuses, [500, 500, 500, 200]);
    assert.deepEqual(counts(upstream, ['status-500-ra0', 'ok-500']), { 'status-500-ra0': 3, 'ok-500': 1 });
  });

  it('every deployment cooling down: the least recently failed one is still tried, with x-switchyard-cooldown', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [
        dep('g', 'status-429-ra0-a', u, { weight: 1 }, { id: 'a' }),
        dep('g', 'status-429-ra0-b', u, { weight: 0 }, { id: 'b' }),
      ],
      router_settings: { num_retries: 0, cooldown_time: 30 },
    }));
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 429 }, explain(r));
      seen.push([r.headers.get('x-litellm-model-id'), r.headers.get(COOLDOWN)]);
    }
    assert.deepEqual(seen, [
      ['a', null], // a fails: a cools down
      ['b', null], // b was not cooling down when chosen; it fails too
      ['a', 'all-deployments-cooling-down'], // both cool down: a failed longest ago
      ['b', 'all-deployments-cooling-down'], // now b did
    ]);
  });

  it('disable_cooldowns: a deployment that keeps answering 429 keeps being chosen', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'status-429-ra0', u, { weight: 1 }), dep('g', 'ok-b', u, { weight: 0 })],
      router_settings: { num_retries: 0, disable_cooldowns: true },
    }));
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw, 'g');
      assertOpenAIError(r, { status: 429 }, explain(r));
      assert.equal(r.headers.get(COOLDOWN), null);
    }
    assert.deepEqual(counts(upstream, ['status-429-ra0', 'ok-b']), { 'status-429-ra0': 3, 'ok-b': 0 });
  });

  // With allowed_fails 0, a single failure counted against "a" cools it down, and the next request goes to "b".
  const goneConfig = (first) => (u) => ({
    model_list: [dep('g', first, u, { weight: 1, stream_timeout: 10 }, { id: 'a' }), dep('g', 'ok-b', u, { weight: 0 }, { id: 'b' })],
    router_settings: { allowed_fails: 0, cooldown_time: 30 },
  });

  /**
   * The deployment the next request to group g goes to: "a" unless it is cooling down. a's answer is gated: it is
   * released once the request arrived upstream. A stream request when a is a stream-gated deployment.
   */
  async function nextChoice(gw, upstream, { stream = false } = {}) {
    const before = upstream.requests.length;
    if (stream) {
      const { res, sse } = await chatStream(gw, 'g');
      assert.equal(res.status, 200);
      upstream.release();
      const s = classifyChatEvents(await sse.all(5000));
      assert.ok(s.done && s.errors.length === 0, JSON.stringify(sse.events.map((e) => e.data)));
      return res.headers.get('x-litellm-model-id');
    }
    const pending = chat(gw, 'g');
    await waitFor(() => upstream.requests.length > before, { timeoutMs: 5000, message: 'the next request upstream' });
    upstream.release();
    const r = await pending;
    assert.equal(r.status, 200, explain(r));
    return r.headers.get('x-litellm-model-id');
  }

  it('a client that goes away during a non-stream call is not a failure of the deployment: no cooldown', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, goneConfig('gated-a'));
    const gone = abortableChat(gw, 'g');
    const rec = await upstream.waitForRequest((r) => r.model === 'gated-a');
    gone.abort();
    await gone.done;
    await waitFor(() => rec.closedAt !== null, { timeoutMs: 3000, message: 'the gateway gives up the upstream call' });
    assert.equal(await nextChoice(gw, upstream), 'a', 'the abandoned call was counted as a failure of "a" and cooled it down');
    assert.equal(upstream.requestsFor('gated-a').length, 2, 'no retry for a client that went away');
  });

  it('a client that goes away in the middle of a stream is not a failure of the deployment: no cooldown', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, goneConfig('stream-gated'));
    const ac = new AbortController();
    const { res, sse } = await chatStream(gw, 'g', { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.ok((await sse.next(5000))?.json, 'the first chunk');
    const rec = upstream.requestsFor('stream-gated')[0];
    ac.abort();
    await sse.cancel();
    await waitFor(() => rec.closedAt !== null, { timeoutMs: 3000, message: 'the gateway gives up the upstream stream' });
    assert.equal(await nextChoice(gw, upstream, { stream: true }), 'a', 'the abandoned stream was counted as a failure of "a" and cooled it down');
  });
});

describe('router rpm/tpm caps', { timeout: 60_000 }, () => {
  it('a deployment at its rpm is skipped: the third request of the minute goes to the other deployment', T, async (t) => {
    await clearOfMinuteBoundary(5000);
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'ok-a', u, { weight: 1, rpm: 2 }, { id: 'a' }), dep('g', 'ok-b', u, { weight: 0, rpm: 100 }, { id: 'b' })],
    }));
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const r = await chat(gw, 'g');
      assert.equal(r.status, 200, explain(r));
      ids.push(r.headers.get('x-litellm-model-id'));
    }
    assert.deepEqual(ids, ['a', 'a', 'b', 'b']);
    assert.deepEqual(counts(upstream, ['ok-a', 'ok-b']), { 'ok-a': 2, 'ok-b': 2 });
  });

  it('a deployment at its tpm is skipped', T, async (t) => {
    await clearOfMinuteBoundary(5000);
    const { gw } = await routerSetup(t, (u) => ({
      // the mock's usage: 7 + words of the prompt, plus words of the answer: well over 5 tokens
      model_list: [dep('g', 'ok-a', u, { weight: 1, tpm: 5 }, { id: 'a' }), dep('g', 'ok-b', u, { weight: 0 }, { id: 'b' })],
    }));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await chat(gw, 'g')).headers.get('x-litellm-model-id'));
    assert.deepEqual(ids, ['a', 'b', 'b']);
  });

  it('every deployment at its cap: 429 rate_limit_exceeded with a Retry-After, no upstream call; fallbacks still apply', T, async (t) => {
    await clearOfMinuteBoundary(5000);
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('capped', 'ok-c', u, { rpm: 1 }), dep('capped2', 'ok-c2', u, { rpm: 1 }), dep('spare', 'ok-spare', u)],
      router_settings: { fallbacks: [{ capped2: ['spare'] }] },
    }));
    assert.equal((await chat(gw, 'capped')).status, 200);
    const r = await chat(gw, 'capped');
    assertOpenAIError(r, { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' }, explain(r));
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 60, `Retry-After: ${r.headers.get('retry-after')}`);
    assert.ok(r.ms < 2000, `took ${r.ms} ms: a refusal must not wait`);
    assert.equal(upstream.requestsFor('ok-c').length, 1, 'the refused request never reached the upstream');

    assert.equal((await chat(gw, 'capped2')).status, 200);
    const f = await chat(gw, 'capped2');
    assert.equal(f.status, 200, explain(f));
    assert.equal(f.json.model, 'spare');
    assert.equal(f.headers.get('x-litellm-attempted-fallbacks'), '1');
    assert.deepEqual(counts(upstream, ['ok-c2', 'ok-spare']), { 'ok-c2': 1, 'ok-spare': 1 });
  });
});
