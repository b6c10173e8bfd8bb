// Turning tracing off and sampling: OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true make no connection at all
// to the collector while requests work; OTEL_TRACES_SAMPLER=always_off exports nothing; parentbased_always_on
// follows an incoming sampled=00 (nothing exported, the context still propagated). What arrived is judged after the
// gateway has exited (it cannot send anything later), so nothing here waits for something not to happen.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  request,
  postStream,
  classifyChatEvents,
  mockModel,
  upstreamModel,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { startOtlpReceiver, PROTOCOLS } from './lib/otlp_receiver.mjs';
import { otelEnv, uniqueUa, newTraceparent, SpanKind } from './lib/tracing.mjs';

describe('tracing off and sampled out', { timeout: 45_000 }, () => {
  let upstream;
  const cleanups = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await upstream?.close();
  });

  const config = (up) => ({
    model_list: [mockModel('claude-haiku'), upstreamModel('gpt-up', 'ok', up.apiBase)],
    general_settings: { master_key: MASTER_KEY },
  });

  /** Non-stream and stream requests that must all succeed; returns the user agents used. */
  async function traffic(gw, { headers = {} } = {}) {
    const uas = [];
    for (const model of ['claude-haiku', 'gpt-up']) {
      const ua = uniqueUa('off');
      uas.push(ua);
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua, ...headers },
        json: { model, messages: [{ role: 'user', content: 'hello' }] },
      });
      assert.equal(r.status, 200, r.text);
      const ua2 = uniqueUa('off-stream');
      uas.push(ua2);
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model, messages: [{ role: 'user', content: 'hello' }], stream: true },
        { key: MASTER_KEY, headers: { 'user-agent': ua2, ...headers } },
      );
      assert.equal(res.status, 200);
      assert.ok(classifyChatEvents(await sse.all(5000)).done);
    }
    return uas;
  }

  async function startWith(env) {
    upstream ??= await startMockUpstream();
    const gw = await startGateway({ config: config(upstream), env: otelEnv({ OTEL_BSP_SCHEDULE_DELAY: '100', ...env }) });
    cleanups.push(() => gw.stop());
    return gw;
  }

  const cases = [
    ['OTEL_TRACES_EXPORTER=none', (protocol) => ({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_PROTOCOL: protocol })],
    ['OTEL_SDK_DISABLED=true', (protocol) => ({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: protocol })],
  ];
  for (const [label, envFor] of cases) {
    it(`${label}: requests work, no connection to the collector (any protocol)`, { timeout: 15_000 }, async () => {
      for (const protocol of PROTOCOLS) {
        const receiver = await startOtlpReceiver();
        cleanups.push(() => receiver.close());
        const gw = await startWith({ ...envFor(protocol), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint(protocol) });
        const seenBefore = upstream.requests.length;
        await traffic(gw, { headers: { baggage: 'user.id=alice' } });
        const stopped = await gw.stop();
        assert.equal(stopped.code, 0, `exit code (${protocol})`);
        assert.equal(receiver.connections, 0, `${protocol}: the collector saw ${receiver.connections} connection(s); ${receiver.describe()}`);
        // Tracing off means no trace headers upstream either: no traceparent promising a parent nobody records.
        for (const r of upstream.requests.slice(seenBefore)) {
          assert.equal(r.headers.traceparent, undefined, `${label}: traceparent sent upstream`);
          assert.equal(r.headers.baggage, undefined, `${label}: baggage sent upstream`);
        }
      }
    });
  }

  it('OTEL_TRACES_EXPORTER=console: spans are printed, no connection to the collector', { timeout: 10_000 }, async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const gw = await startWith({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint('http/protobuf') });
    const tp = newTraceparent('01');
    await traffic(gw, { headers: { traceparent: tp.header } });
    const stopped = await gw.stop();
    assert.equal(stopped.code, 0);
    assert.equal(receiver.connections, 0, receiver.describe());
    assert.ok(gw.text().includes(tp.traceId), 'the console exporter printed the spans of the request (its trace id)');
  });

  it('OTEL_TRACES_SAMPLER=always_off: nothing exported, requests work', { timeout: 10_000 }, async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const gw = await startWith({ ...receiver.env('http/protobuf'), OTEL_TRACES_SAMPLER: 'always_off' });
    await traffic(gw);
    await traffic(gw, { headers: { traceparent: newTraceparent('01').header } });
    const stopped = await gw.stop();
    assert.equal(stopped.code, 0);
    assert.equal(receiver.spans().length, 0, receiver.describe());
  });

  it('parentbased_always_on: an incoming sampled=00 records nothing (and still propagates), sampled=01 and no parent record', { timeout: 10_000 }, async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const gw = await startWith({ ...receiver.env('grpc'), OTEL_TRACES_SAMPLER: 'parentbased_always_on' });
    const off = newTraceparent('00');
    const on = newTraceparent('01');
    const offMarker = `sampled-out ${off.traceId}`;
    const r0 = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers: { traceparent: off.header },
      json: { model: 'gpt-up', messages: [{ role: 'user', content: offMarker }] },
    });
    assert.equal(r0.status, 200, r0.text);
    const r1 = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers: { traceparent: on.header },
      json: { model: 'gpt-up', messages: [{ role: 'user', content: 'sampled in' }] },
    });
    assert.equal(r1.status, 200, r1.text);
    const ua = uniqueUa('root');
    const r2 = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers: { 'user-agent': ua },
      json: { model: 'claude-haiku', messages: [{ role: 'user', content: 'no parent' }] },
    });
    assert.equal(r2.status, 200, r2.text);

    // the unsampled context still travels upstream, with its trace id and flags 00
    const up = upstream.requests.find((q) => q.rawBody.includes(offMarker));
    assert.match(String(up?.headers.traceparent), new RegExp(`^00-${off.traceId}-[0-9a-f]{16}-00$`), 'unsampled traceparent forwarded');

    const onServer = await receiver.waitForSpan((s) => s.traceId === on.traceId && s.kind === SpanKind.SERVER, { message: 'the sampled request' });
    assert.equal(onServer.parentSpanId, on.parentId);
    await receiver.waitForSpan((s) => s.kind === SpanKind.SERVER && s.attributes['user_agent.original'] === ua, { message: 'the root request' });
    const stopped = await gw.stop();
    assert.equal(stopped.code, 0);
    assert.deepEqual(receiver.trace(off.traceId).map((s) => s.name), [], 'spans of an unsampled parent were exported');
  });
});
