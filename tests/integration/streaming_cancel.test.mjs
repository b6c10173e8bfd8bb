// Streams that end early: the client goes away (the upstream must see its connection closed), or the upstream
// breaks mid-stream (the client must get the chunks, an SSE error event, and an end).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  postJson,
  postStream,
  classifyChatEvents,
  RawConn,
  rawHttpRequest,
  waitFor,
  assertOpenAIError,
  MASTER_KEY,
  upstreamModel,
  mockModel,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

describe('stream cancellation and failure', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          upstreamModel('forever', 'stream-forever', upstream.apiBase, { stream_timeout: 10 }),
          upstreamModel('breaker', 'stream-break', upstream.apiBase, { stream_timeout: 10 }),
          upstreamModel('up', 'ok', upstream.apiBase),
          upstreamModel('slow', 'slow-5000', upstream.apiBase, { timeout: 30 }),
        ],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { drain_timeout_ms: 2000 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('client aborts after the first chunk: the upstream connection is closed promptly', { timeout: 15_000 }, async (t) => {
    const ac = new AbortController();
    t.after(() => ac.abort());
    const closedBefore = upstream.closedConnections;
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'forever', messages: [{ role: 'user', content: 'never stop' }], stream: true },
      { key: MASTER_KEY, signal: ac.signal },
    );
    assert.equal(res.status, 200);
    const first = await sse.next(5000);
    assert.ok(first?.json, `first event: ${JSON.stringify(first)}`);
    assert.equal(first.json.model, 'forever');
    assert.equal(first.json.choices[0].delta.content, 'tick-0 ');
    assert.equal(upstream.closedConnections, closedBefore, 'the upstream stream is still open while we read');

    const abortedAt = Date.now();
    ac.abort();
    await sse.cancel();
    const waited = await upstream.waitForClosedConnections(closedBefore + 1, { timeoutMs: 3000 });
    const rec = upstream.requestsFor('stream-forever').at(-1);
    assert.ok(rec.downstreamClosedAt >= abortedAt - 5, 'closed after the abort');
    t.diagnostic(`upstream saw the close ${waited} ms after the client aborted; ${rec.chunksSent} chunks had been sent`);
  });

  it('client drops the raw TCP connection mid-stream: the upstream connection is closed promptly', { timeout: 15_000 }, async (t) => {
    const closedBefore = upstream.closedConnections;
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(
      rawHttpRequest('POST', '/v1/chat/completions', {
        key: MASTER_KEY,
        body: { model: 'forever', messages: [{ role: 'user', content: 'raw' }], stream: true },
      }),
    );
    // wait (bounded) for the first chunk's bytes
    await conn._until(() => (conn.buf.includes('tick-0') ? true : undefined), 5000, 'first chunk');
    conn.destroy();
    await upstream.waitForClosedConnections(closedBefore + 1, { timeoutMs: 3000 });
  });

  it('ten concurrent streams cancelled at once: every upstream connection is closed', { timeout: 15_000 }, async (t) => {
    const n = 10;
    const closedBefore = upstream.closedConnections;
    const controllers = [];
    t.after(() => controllers.forEach((c) => c.abort()));
    const streams = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const ac = new AbortController();
        controllers.push(ac);
        const s = await postStream(
          gw,
          '/v1/chat/completions',
          { model: 'forever', messages: [{ role: 'user', content: `many ${i}` }], stream: true },
          { key: MASTER_KEY, signal: ac.signal },
        );
        const first = await s.sse.next(5000);
        assert.ok(first?.json, `stream ${i}: first event ${JSON.stringify(first)}`);
        return { ac, sse: s.sse };
      }),
    );
    for (const { ac, sse } of streams) {
      ac.abort();
      await sse.cancel();
    }
    await upstream.waitForClosedConnections(closedBefore + n, { timeoutMs: 3000 });
  });

  it('client gone during a slow non-stream request: that upstream request is cancelled, no other', { timeout: 15_000 }, async (t) => {
    const marker = `slow-${Date.now()}`;
    // a control request that stays waiting (the upstream answers after 5 s; dropped when the test ends)
    const control = await RawConn.open(gw.port);
    t.after(() => control.destroy());
    await control.write(
      rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: { model: 'slow', messages: [{ role: 'user', content: `${marker}-control` }] } }),
    );
    const controlRec = await upstream.waitForRequest((r) => r.body?.messages?.[0]?.content === `${marker}-control`, { timeoutMs: 5000 });
    // the same request from a raw connection that we drop while the upstream is still thinking
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(
      rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: { model: 'slow', messages: [{ role: 'user', content: `${marker}-dropped` }] } }),
    );
    const rec = await upstream.waitForRequest((r) => r.body?.messages?.[0]?.content === `${marker}-dropped`, { timeoutMs: 5000 });
    conn.destroy();
    await waitFor(() => rec.closedAt !== null, { timeoutMs: 3000, message: "the dropped client's upstream request was closed" });
    assert.equal(controlRec.closedAt, null, 'the control request is untouched');
  });

  it('the gateway serves normally after cancelled streams', { timeout: 10_000 }, async () => {
    const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'ok?' }] }, { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
  });

  it('upstream breaks mid-stream: chunks, then an SSE error event, then the end', { timeout: 15_000 }, async (t) => {
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'breaker', messages: [{ role: 'user', content: 'break' }], stream: true },
      { key: MASTER_KEY },
    );
    assert.equal(res.status, 200);
    const events = await sse.all(8000); // bounded: a hang fails here
    const s = classifyChatEvents(events);
    assert.equal(s.chunks.length, 2, `chunks: ${JSON.stringify(events)}`);
    assert.equal(s.content, 'break-one break-two ');
    assert.ok(s.chunks.every((c) => c.model === 'breaker'));
    assert.equal(s.errors.length, 1, `expected one error event, got: ${JSON.stringify(events.map((e) => e.data))}`);
    const e = s.errors[0];
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    assert.equal(typeof e.type, 'string');
    assert.ok('code' in e && 'param' in e, `error event fields: ${JSON.stringify(e)}`);
    const errIndex = events.findIndex((ev) => ev.json?.error);
    const lastChunkIndex = events.findLastIndex((ev) => ev.json?.object === 'chat.completion.chunk');
    assert.ok(errIndex > lastChunkIndex, 'the error event comes after the chunks');
    assert.equal(errIndex, events.length - 1, `the error event is the last one (no [DONE] after it): ${JSON.stringify(events.map((e) => e.data))}`);
    if (sse.error) t.diagnostic(`stream ended with a transport error after the error event: ${sse.error.message}`);
  });

  it('mock provider stream cancelled by the client does not disturb the gateway', { timeout: 10_000 }, async () => {
    const ac = new AbortController();
    const { sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'claude-haiku', messages: [{ role: 'user', content: 'a fairly long text to stream '.repeat(20) }], stream: true },
      { key: MASTER_KEY, signal: ac.signal },
    );
    await sse.next(5000);
    ac.abort();
    await sse.cancel();
    const r = await postJson(gw, '/v1/chat/completions', { model: 'claude-haiku', messages: [{ role: 'user', content: 'after' }] }, { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
  });
});

describe('stream timeouts', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          // the upstream sends one chunk, then nothing: stream_timeout (idle between bytes) must end it
          upstreamModel('stalls', 'stream-gated', upstream.apiBase, { stream_timeout: 0.3, timeout: 30 }),
          // the upstream sends no byte for 3 s: nothing started yet, so a plain 504. No retries: each would add
          // another stream_timeout and a backoff of up to a second, and only the first attempt is under test here.
          upstreamModel('mute', 'slow-3000', upstream.apiBase, { stream_timeout: 0.3, timeout: 30, max_retries: 0 }),
          // a steady stream that outlives `timeout`: the non-stream timeout does not apply to streams
          upstreamModel('steady', 'stream-forever', upstream.apiBase, { timeout: 0.3, stream_timeout: 5 }),
        ],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { drain_timeout_ms: 2000 },
      },
    });
  });
  after(async () => {
    upstream?.release();
    await gw?.stop();
    await upstream?.close();
  });

  it('an upstream idle longer than stream_timeout mid-stream: an SSE error event and the end', { timeout: 15_000 }, async (t) => {
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'stalls', messages: [{ role: 'user', content: 'x' }], stream: true },
      { key: MASTER_KEY },
    );
    assert.equal(res.status, 200);
    const first = await sse.next(5000);
    assert.equal(first?.json?.choices?.[0]?.delta?.content, 'gated-first ');
    const start = Date.now();
    const rest = await sse.all(5000); // bounded: a hang fails here
    const took = Date.now() - start;
    const s = classifyChatEvents(rest);
    assert.equal(s.errors.length, 1, `events after the first: ${JSON.stringify(rest.map((e) => e.data))}`);
    assert.equal(typeof s.errors[0].message, 'string');
    assert.equal(typeof s.errors[0].type, 'string');
    t.diagnostic(`stream ended ${took} ms after the first chunk; error ${JSON.stringify(s.errors[0])}`);
    // and the gateway let go of the upstream connection
    const rec = upstream.requestsFor('stream-gated').at(-1);
    await waitFor(() => rec.closedAt !== null, { timeoutMs: 3000, message: 'upstream connection closed' });
  });

  it('an upstream silent longer than stream_timeout before any byte: 504 upstream_timeout', { timeout: 15_000 }, async () => {
    const attemptsBefore = upstream.requestsFor('slow-3000').length;
    const start = Date.now();
    const r = await postJson(gw, '/v1/chat/completions', { model: 'mute', messages: [{ role: 'user', content: 'x' }], stream: true }, { key: MASTER_KEY });
    const took = Date.now() - start;
    assertOpenAIError(r, { status: 504, type: 'timeout_error', code: 'upstream_timeout' });
    assert.equal(upstream.requestsFor('slow-3000').length - attemptsBefore, 1, 'one attempt (max_retries: 0)');
    assert.ok(took < 2500, `answered after ${took} ms; stream_timeout is 0.3 s, the upstream is silent for 3 s`);
  });

  it('a steady stream is not cut by the non-stream timeout', { timeout: 15_000 }, async (t) => {
    const ac = new AbortController();
    t.after(() => ac.abort());
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'steady', messages: [{ role: 'user', content: 'x' }], stream: true },
      { key: MASTER_KEY, signal: ac.signal },
    );
    assert.equal(res.status, 200);
    const start = Date.now();
    const events = [];
    while (Date.now() - start < 1200) {
      const ev = await sse.next(2000);
      assert.ok(ev, `the stream ended after ${Date.now() - start} ms; events: ${JSON.stringify(events.map((e) => e.data))}`);
      assert.ok(!ev.json?.error, `error event after ${Date.now() - start} ms: ${ev.data}`);
      events.push(ev);
    }
    assert.ok(events.length >= 10, `${events.length} chunks in 1.2 s`);
    ac.abort();
    await sse.cancel();
  });
});
