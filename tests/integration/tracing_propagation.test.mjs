// Propagators: malformed W3C headers are ignored (a new root trace, never an error); OTEL_PROPAGATORS=xray continues
// an incoming X-Amzn-Trace-Id and sends the attempt's X-Ray header upstream instead of traceparent.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, upstreamModel, MASTER_KEY } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { startTracedGateway, uniqueUa, requestSpans, waitForServerSpan, describeSpan } from './lib/tracing.mjs';

describe('trace context propagation', { timeout: 30_000 }, () => {
  let upstream;
  const cleanups = [];
  before(async () => {
    upstream = await startMockUpstream();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await upstream?.close();
  });
  const start = async (env = {}, generalSettings = {}) => {
    const t = await startTracedGateway({
      protocol: 'http/protobuf',
      env,
      config: {
        model_list: [upstreamModel('up', 'ok', upstream.apiBase)],
        general_settings: { master_key: MASTER_KEY, ...generalSettings },
      },
    });
    cleanups.push(() => t.receiver.close(), () => t.gw.stop());
    return t;
  };
  const chat = (gw, ua, headers, content) =>
    request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers: { 'user-agent': ua, ...headers },
      json: { model: 'up', messages: [{ role: 'user', content }] },
    });

  it('malformed traceparent headers are ignored: 200 and a new root trace', { timeout: 10_000 }, async () => {
    const { receiver, gw } = await start();
    const bad = [
      'garbage',
      '00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-1234567890abcdef-01',
      '00-00000000000000000000000000000000-1234567890abcdef-01', // all-zero trace id
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', // all-zero parent id
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', // version ff
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331', // missing flags
    ];
    for (const header of bad) {
      const ua = uniqueUa('badtp');
      const r = await chat(gw, ua, { traceparent: header, tracestate: '=,,bad' }, 'malformed context');
      assert.equal(r.status, 200, `${header}: ${r.text}`);
      const server = await waitForServerSpan(receiver, ua);
      assert.equal(server.parentSpanId, '', `${header} must not become a parent: ${describeSpan(server)}`);
      assert.match(server.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(server.traceId, '0'.repeat(32));
      assert.notEqual(server.traceId, '0af7651916cd43dd8448eb211c80319c', `${header} must not be continued`);
    }
  });

  it('OTEL_PROPAGATORS=xray: X-Amzn-Trace-Id continued and sent upstream with the attempt span as parent', { timeout: 10_000 }, async () => {
    const { receiver, gw } = await start({ OTEL_PROPAGATORS: 'xray' });
    const ua = uniqueUa('xray');
    const marker = `xray marker ${ua}`;
    const r = await chat(gw, ua, { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' }, marker);
    assert.equal(r.status, 200, r.text);
    const { server, clients } = await requestSpans(receiver, ua);
    assert.equal(server.traceId, '5759e988bd862e3fe1be46a994272793');
    assert.equal(server.parentSpanId, '53995c3f42cd8ad8');
    assert.equal(clients.length, 1);
    const rec = upstream.requests.find((q) => q.rawBody.includes(marker));
    const h = String(rec.headers['x-amzn-trace-id'] ?? '');
    assert.match(h, /Root=1-5759e988-bd862e3fe1be46a994272793/, `upstream X-Amzn-Trace-Id: ${h}`);
    assert.match(h, new RegExp(`Parent=${clients[0].spanId}`), `upstream X-Amzn-Trace-Id parent is the CLIENT span: ${h}`);
    assert.match(h, /Sampled=1/);
    assert.equal(rec.headers.traceparent, undefined, 'only the configured propagator injects');

    // with xray only, a W3C traceparent is not read
    const ua2 = uniqueUa('xray-w3c');
    const r2 = await chat(gw, ua2, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, 'w3c under xray');
    assert.equal(r2.status, 200);
    const s2 = await waitForServerSpan(receiver, ua2);
    assert.notEqual(s2.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(s2.parentSpanId, '');
  });
  it('general_settings.otel_id_generator: xray makes trace ids start with the epoch seconds', { timeout: 10_000 }, async () => {
    const { receiver, gw } = await start({}, { otel_id_generator: 'xray' });
    const before = Math.floor(Date.now() / 1000);
    const ua = uniqueUa('xray-ids');
    const r = await chat(gw, ua, {}, 'x-ray ids');
    assert.equal(r.status, 200, r.text);
    const server = await waitForServerSpan(receiver, ua);
    const secs = parseInt(server.traceId.slice(0, 8), 16);
    assert.ok(secs >= before - 1 && secs <= Math.floor(Date.now() / 1000) + 1, `trace id ${server.traceId}`);
  });
});
