// Router timeouts (a deployment's timeout / stream_timeout, else router_settings') answer 504 and are retried like
// other timeouts; streams are retried only while no byte has reached the client.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertOpenAIError, classifyChatEvents, waitFor } from './lib/gateway.mjs';
import { dep, routerSetup, chat, chatStream, counts, explain, routingHeaders } from './lib/router.mjs';

const T = { timeout: 15_000 };

describe('router timeouts', { timeout: 60_000 }, () => {
  it('a deployment timeout of 0.3 s: 504 timeout_error, the hung upstream request is closed', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'hang', u, { timeout: 0.3 })],
      router_settings: { num_retries: 0 },
    }));
    const r = await chat(gw, 'g');
    assertOpenAIError(r, { status: 504, type: 'timeout_error', code: 'upstream_timeout' }, explain(r));
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    const [rec] = upstream.requestsFor('hang');
    await waitFor(() => rec.closedAt !== null, { timeoutMs: 3000, message: 'the gateway closes the hung upstream request' });
  });

  it('a timeout is retried per num_retries; a later attempt that answers gives 200', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('always', 'hang', u, { timeout: 0.3 }), dep('once', 'fail-1-hang', u, { timeout: 0.3 })],
      router_settings: { num_retries: 1 },
    }));
    const r = await chat(gw, 'always');
    assertOpenAIError(r, { status: 504, code: 'upstream_timeout' }, explain(r));
    assert.equal(upstream.requestsFor('hang').length, 2, 'one attempt and one retry');
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1', explain(r));

    const ok = await chat(gw, 'once');
    assert.equal(ok.status, 200, explain(ok));
    assert.equal(upstream.requestsFor('fail-1-hang').length, 2);
    assert.equal(ok.headers.get('x-litellm-attempted-retries'), '1', explain(ok));
  });

  it('a timed-out deployment: the retry goes to the other deployment', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'hang', u, { timeout: 0.3, weight: 1 }), dep('g', 'ok-b', u, { weight: 0 }, { id: 'dep-ok' })],
    }));
    const r = await chat(gw, 'g');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-ok');
    assert.deepEqual(counts(upstream, ['hang', 'ok-b']), { hang: 1, 'ok-b': 1 });
  });

  it("router_settings.timeout applies to a deployment without one; a deployment's own timeout wins", T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [dep('router-timeout', 'hang', u), dep('own-timeout', 'slow-800', u, { timeout: 10 })],
      router_settings: { num_retries: 0, timeout: 0.3 },
    }));
    const r = await chat(gw, 'router-timeout');
    assertOpenAIError(r, { status: 504, code: 'upstream_timeout' }, explain(r));
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    const ok = await chat(gw, 'own-timeout');
    assert.equal(ok.status, 200, `the deployment's timeout of 10 s, not the router's 0.3 s: ${explain(ok)}`);
  });

  it("stream_timeout bounds a stream's wait (the deployment's, else the router's); it does not apply to a non-stream request", T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        dep('own', 'hang-own', u, { stream_timeout: 0.3, timeout: 30 }),
        dep('router', 'hang-router', u),
        dep('slow', 'slow-800', u),
        // the deployment's own timeout wins over the router's stream_timeout
        dep('slow-own', 'slow-800-own', u, { timeout: 30 }),
      ],
      router_settings: { num_retries: 0, stream_timeout: 0.3, timeout: 30 },
    }));
    for (const group of ['own', 'router']) {
      const { res, ms } = await chatStream(gw, group);
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      assertOpenAIError({ status: res.status, headers: res.headers, text, json }, { status: 504, code: 'upstream_timeout' }, `${group}: ${text}`);
      assert.ok(ms < 5000, `${group}: took ${ms} ms`);
    }
    assert.equal(upstream.requestsFor('hang-own').length, 1);
    assert.equal(upstream.requestsFor('hang-router').length, 1);
    const ok = await chat(gw, 'slow');
    assert.equal(ok.status, 200, `a non-stream request waits for timeout (30 s), not stream_timeout: ${explain(ok)}`);
    const own = await chatStream(gw, 'slow-own');
    const ownText = await own.res.text();
    assert.equal(own.res.status, 200, `the deployment's timeout beats the router's stream_timeout: ${ownText}`);
    assert.match(ownText, /\[DONE\]/);
  });
});

describe('router and streams', { timeout: 60_000 }, () => {
  it('a stream that breaks after its first chunks is not retried: one upstream request, the chunks, then an error event', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'stream-break', u, { weight: 1, stream_timeout: 10 }), dep('g', 'ok-b', u, { weight: 0 })],
      router_settings: { num_retries: 2 },
    }));
    const { res, sse } = await chatStream(gw, 'g');
    assert.equal(res.status, 200);
    const events = await sse.all(8000);
    const s = classifyChatEvents(events);
    assert.equal(s.content, 'break-one break-two ', JSON.stringify(events.map((e) => e.data)));
    assert.equal(s.errors.length, 1, `one error event: ${JSON.stringify(events.map((e) => e.data))}`);
    assert.equal(events.findIndex((e) => e.json?.error), events.length - 1, 'the error event comes last');
    assert.ok(!s.done, 'no [DONE] after an error');
    assert.deepEqual(counts(upstream, ['stream-break', 'ok-b']), { 'stream-break': 1, 'ok-b': 0 }, 'no retry once bytes reached the client');
    assert.equal(res.headers.get('x-litellm-attempted-retries'), '0');
  });

  it('a stream whose upstream sends an error event after one chunk: the chunk, then that error, no retry', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [dep('g', 'stream-fail-after-1', u, { weight: 1 }), dep('g', 'ok-b', u, { weight: 0 })],
      router_settings: { num_retries: 2 },
    }));
    const { res, sse } = await chatStream(gw, 'g');
    assert.equal(res.status, 200);
    const events = await sse.all(8000);
    const s = classifyChatEvents(events);
    assert.equal(s.content, 'only-one ');
    assert.equal(s.errors.length, 1, JSON.stringify(events.map((e) => e.data)));
    assert.equal(s.errors[0].message, 'upstream stream failed');
    assert.equal(s.errors[0].code, 'upstream_stream_error');
    assert.deepEqual(counts(upstream, ['stream-fail-after-1', 'ok-b']), { 'stream-fail-after-1': 1, 'ok-b': 0 });
  });

  it('a stream whose upstream answers 500 before any byte is retried, and the client gets one whole stream', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'fail-1-500-ra0', u)] }));
    const { res, sse } = await chatStream(gw, 'g', { content: 'retry me' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    assert.equal(res.headers.get('x-litellm-attempted-retries'), '1', JSON.stringify(routingHeaders({ res })));
    const s = classifyChatEvents(await sse.all(8000));
    assert.ok(s.done, 'ends with [DONE]');
    assert.deepEqual(s.errors, []);
    assert.equal(s.content, 'upstream echo: retry me', 'the content once, not twice');
    assert.equal(upstream.requestsFor('fail-1-500-ra0').length, 2);
  });

  it('a stream whose upstream breaks after its response head but before any event is retried', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'fail-1-headbreak', u)], router_settings: { num_retries: 1 } }));
    const { res, sse } = await chatStream(gw, 'g', { content: 'head only' });
    assert.equal(res.status, 200);
    const s = classifyChatEvents(await sse.all(8000));
    assert.ok(s.done, 'ends with [DONE]');
    assert.equal(s.content, 'upstream echo: head only');
    assert.equal(upstream.requestsFor('fail-1-headbreak').length, 2);
  });

  it('a stream that fails before any byte on every attempt: a JSON error, not a stream', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'status-503-ra0', u)], router_settings: { num_retries: 1 } }));
    const { res } = await chatStream(gw, 'g');
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {}
    assertOpenAIError({ status: res.status, headers: res.headers, text, json }, { status: 503 }, text);
    assert.equal(upstream.requestsFor('status-503-ra0').length, 2);
    assert.equal(res.headers.get('x-litellm-attempted-retries'), '1');
  });
});
