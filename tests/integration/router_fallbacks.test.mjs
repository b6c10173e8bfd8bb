// Router fallbacks: when a group fails, other groups are tried (fallbacks, default_fallbacks, the "*" rule,
// context_window_fallbacks, content_policy_fallbacks), each once, at most max_fallbacks of them; a bad request
// never falls back. Pre-call checks skip deployments whose max_input_tokens the prompt exceeds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertOpenAIError, classifyChatEvents } from './lib/gateway.mjs';
import { dep, routerSetup, chat, chatStream, counts, explain } from './lib/router.mjs';

const T = { timeout: 15_000 };
const LONG = 'x'.repeat(400); // about 100 tokens by the gateway's estimate (characters / 4)

describe('router fallbacks', { timeout: 60_000 }, () => {
  it('group A fails on every deployment: the answer comes from B (model B, B headers, attempted-fallbacks 1)', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        dep('A', 'status-500-ra0-a1', u, {}, { id: 'a1' }),
        dep('A', 'status-503-ra0-a2', u, {}, { id: 'a2' }),
        dep('B', 'ok-b', u, {}, { id: 'b1' }),
      ],
      router_settings: { num_retries: 1, fallbacks: [{ A: ['B'] }] },
    }));
    const r = await chat(gw, 'A');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.json.model, 'B', 'the response names the group that answered');
    assert.equal(r.headers.get('x-litellm-model-group'), 'B', explain(r));
    assert.equal(r.headers.get('x-litellm-model-id'), 'b1', explain(r));
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1', explain(r));
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));
    // the retry went to A's other deployment, then B
    assert.deepEqual(counts(upstream, ['status-500-ra0-a1', 'status-503-ra0-a2', 'ok-b']), {
      'status-500-ra0-a1': 1,
      'status-503-ra0-a2': 1,
      'ok-b': 1,
    });
  });

  it('a stream falls back too; its chunks name the fallback group', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0', u), dep('B', 'ok-b', u)],
      router_settings: { num_retries: 0, fallbacks: [{ A: ['B'] }] },
    }));
    const { res, sse } = await chatStream(gw, 'A', { content: 'fall back' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-litellm-attempted-fallbacks'), '1');
    const s = classifyChatEvents(await sse.all(8000));
    assert.ok(s.done);
    assert.equal(s.content, 'upstream echo: fall back');
    assert.ok(s.chunks.every((c) => c.model === 'B'), JSON.stringify(s.chunks.map((c) => c.model)));
    assert.equal(upstream.requestsFor('ok-b').length, 1);
  });

  it('fallback groups are tried in order until one answers', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0-a', u), dep('B', 'status-500-ra0-b', u), dep('C', 'ok-c', u), dep('D', 'ok-d', u)],
      router_settings: { num_retries: 0, fallbacks: [{ A: ['B', 'C', 'D'] }] },
    }));
    const r = await chat(gw, 'A');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.json.model, 'C');
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '2', explain(r));
    assert.deepEqual(counts(upstream, ['status-500-ra0-a', 'status-500-ra0-b', 'ok-c', 'ok-d']), {
      'status-500-ra0-a': 1,
      'status-500-ra0-b': 1,
      'ok-c': 1,
      'ok-d': 0,
    });
  });

  it('default_fallbacks apply to a group without a rule; a rule of its own wins', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0-a', u), dep('R', 'status-500-ra0-r', u), dep('D', 'ok-d', u), dep('S', 'ok-s', u)],
      router_settings: { num_retries: 0, default_fallbacks: ['D'], fallbacks: [{ R: ['S'] }] },
    }));
    const a = await chat(gw, 'A');
    assert.equal(a.status, 200, explain(a));
    assert.equal(a.json.model, 'D');
    const r = await chat(gw, 'R');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.json.model, 'S');
    assert.deepEqual(counts(upstream, ['ok-d', 'ok-s']), { 'ok-d': 1, 'ok-s': 1 });
  });

  it('the "*" rule applies to every group without a rule of its own', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0-a', u), dep('Z', 'status-429-ra0-z', u), dep('R', 'status-500-ra0-r', u), dep('W', 'ok-w', u), dep('S', 'ok-s', u)],
      router_settings: { num_retries: 0, fallbacks: [{ '*': ['W'] }, { R: ['S'] }] },
    }));
    for (const [group, answeredBy] of [
      ['A', 'W'],
      ['Z', 'W'],
      ['R', 'S'],
    ]) {
      const r = await chat(gw, group);
      assert.equal(r.status, 200, `${group}: ${explain(r)}`);
      assert.equal(r.json.model, answeredBy, `${group} falls back to ${answeredBy}`);
    }
  });

  it('failures that fall back: 429, 401, 404, 500, timeout; a bad request (400, 422) does not', T, async (t) => {
    const failing = ['status-429-ra0', 'status-401', 'status-404', 'status-500-ra0', 'hang'];
    const bad = ['status-400', 'status-422'];
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [...failing, ...bad].map((id) => dep(`g-${id}`, id, u, { timeout: 0.3 })).concat([dep('B', 'ok-b', u)]),
      router_settings: { num_retries: 0, fallbacks: [{ '*': ['B'] }] },
    }));
    let expected = 0;
    for (const id of failing) {
      const r = await chat(gw, `g-${id}`);
      assert.equal(r.status, 200, `${id} falls back: ${explain(r)}`);
      assert.equal(r.json.model, 'B');
      assert.equal(upstream.requestsFor('ok-b').length, ++expected);
    }
    for (const id of bad) {
      const r = await chat(gw, `g-${id}`);
      assertOpenAIError(r, { status: Number(id.slice(-3)), type: 'invalid_request_error' }, `${id}: ${explain(r)}`);
      assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0', explain(r));
    }
    assert.equal(upstream.requestsFor('ok-b').length, failing.length, 'no fallback call for a bad request');
  });

  it('fallbacks that loop (A → B, B → A) end: each group is tried once, then the error', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0-a', u), dep('B', 'status-500-ra0-b', u)],
      router_settings: { num_retries: 0, fallbacks: [{ A: ['B'] }, { B: ['A'] }] },
    }));
    const r = await chat(gw, 'A');
    assertOpenAIError(r, { status: 500 }, explain(r));
    assert.deepEqual(counts(upstream, ['status-500-ra0-a', 'status-500-ra0-b']), { 'status-500-ra0-a': 1, 'status-500-ra0-b': 1 });
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1', explain(r));
    // a group that lists itself is not tried again either
    const self = await routerSetup(t, (u) => ({
      model_list: [dep('A', 'status-500-ra0-self', u)],
      router_settings: { num_retries: 0, fallbacks: [{ A: ['A'] }] },
    }));
    const s = await chat(self.gw, 'A');
    assertOpenAIError(s, { status: 500 }, explain(s));
    assert.equal(self.upstream.requestsFor('status-500-ra0-self').length, 1);
  });

  it('max_fallbacks bounds the groups tried; 0 turns fallbacks off', T, async (t) => {
    const groups = ['B', 'C', 'D', 'E'];
    const build = (max) => (u) => ({
      model_list: [dep('A', 'status-500-ra0-a', u), ...groups.map((g) => dep(g, `status-500-ra0-${g.toLowerCase()}`, u))],
      router_settings: { num_retries: 0, max_fallbacks: max, fallbacks: [{ A: groups }] },
    });
    const two = await routerSetup(t, build(2));
    const r = await chat(two.gw, 'A');
    assertOpenAIError(r, { status: 500 }, explain(r));
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '2', explain(r));
    assert.deepEqual(counts(two.upstream, ['status-500-ra0-b', 'status-500-ra0-c', 'status-500-ra0-d', 'status-500-ra0-e']), {
      'status-500-ra0-b': 1,
      'status-500-ra0-c': 1,
      'status-500-ra0-d': 0,
      'status-500-ra0-e': 0,
    });
    const zero = await routerSetup(t, build(0));
    const z = await chat(zero.gw, 'A');
    assertOpenAIError(z, { status: 500 }, explain(z));
    assert.equal(z.headers.get('x-litellm-attempted-fallbacks'), '0', explain(z));
    assert.equal(zero.upstream.requestsFor('status-500-ra0-b').length, 0);
  });

  it('context_window_fallbacks on an upstream context_length_exceeded (not retried, not the generic list)', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('small', 'ctx-400', u), dep('big', 'ok-big', u), dep('other', 'ok-other', u)],
      router_settings: { num_retries: 2, context_window_fallbacks: [{ small: ['big'] }], fallbacks: [{ small: ['other'] }] },
    }));
    const r = await chat(gw, 'small', { content: LONG });
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.json.model, 'big');
    assert.deepEqual(counts(upstream, ['ctx-400', 'ok-big', 'ok-other']), { 'ctx-400': 1, 'ok-big': 1, 'ok-other': 0 });
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '0', explain(r));
  });

  it('content_policy_fallbacks on an upstream content_filter refusal', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('strict', 'filter-400', u), dep('lenient', 'ok-lenient', u), dep('other', 'ok-other', u)],
      router_settings: { num_retries: 2, content_policy_fallbacks: [{ strict: ['lenient'] }], fallbacks: [{ strict: ['other'] }] },
    }));
    const r = await chat(gw, 'strict');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.json.model, 'lenient');
    assert.deepEqual(counts(upstream, ['filter-400', 'ok-lenient', 'ok-other']), { 'filter-400': 1, 'ok-lenient': 1, 'ok-other': 0 });
  });

  it('without a rule, an upstream content_filter refusal is passed on as it came', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({ model_list: [dep('strict', 'filter-400', u)] }));
    const r = await chat(gw, 'strict');
    assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'content_filter' }, explain(r));
  });

  describe('pre-call checks (enable_pre_call_checks)', () => {
    it('a prompt longer than max_input_tokens skips that deployment without calling it', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          dep('mixed', 'ok-small', u, { weight: 1 }, { id: 'small', max_input_tokens: 20 }),
          dep('mixed', 'ok-large', u, { weight: 0 }, { id: 'large', max_input_tokens: 100_000 }),
        ],
        router_settings: { enable_pre_call_checks: true },
      }));
      const long = await chat(gw, 'mixed', { content: LONG });
      assert.equal(long.status, 200, explain(long));
      assert.equal(long.headers.get('x-litellm-model-id'), 'large');
      const short = await chat(gw, 'mixed', { content: 'hi' });
      assert.equal(short.status, 200, explain(short));
      assert.equal(short.headers.get('x-litellm-model-id'), 'small', 'a short prompt still goes to the small deployment');
      assert.deepEqual(counts(upstream, ['ok-small', 'ok-large']), { 'ok-small': 1, 'ok-large': 1 });
    });

    it('no deployment is large enough: context_window_fallbacks, without calling the small one; no rule: 400 context_length_exceeded', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [
          dep('small', 'ok-small', u, {}, { max_input_tokens: 20 }),
          dep('tiny', 'ok-tiny', u, {}, { max_input_tokens: 20 }),
          dep('big', 'ok-big', u, {}, { max_input_tokens: 100_000 }),
        ],
        router_settings: { enable_pre_call_checks: true, context_window_fallbacks: [{ small: ['big'] }] },
      }));
      const r = await chat(gw, 'small', { content: LONG });
      assert.equal(r.status, 200, explain(r));
      assert.equal(r.json.model, 'big');
      assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1', explain(r));
      const e = await chat(gw, 'tiny', { content: LONG });
      assertOpenAIError(e, { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' }, explain(e));
      assert.deepEqual(counts(upstream, ['ok-small', 'ok-tiny', 'ok-big']), { 'ok-small': 0, 'ok-tiny': 0, 'ok-big': 1 });
    });

    it('without enable_pre_call_checks, max_input_tokens is not enforced by the gateway', T, async (t) => {
      const { gw, upstream } = await routerSetup(t, (u) => ({
        model_list: [dep('small', 'ok-small', u, {}, { max_input_tokens: 20 })],
      }));
      const r = await chat(gw, 'small', { content: LONG });
      assert.equal(r.status, 200, explain(r));
      assert.equal(upstream.requestsFor('ok-small').length, 1);
    });
  });
});
