// SIGTERM (and SIGINT) flush what is queued: with a 60 s schedule delay nothing would be exported on its own, yet the
// spans of a finished request must have reached the collector by the time the gateway has exited.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, postStream, classifyChatEvents, mockModel, upstreamModel, MASTER_KEY } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { PROTOCOLS } from './lib/otlp_receiver.mjs';
import { startTracedGateway, uniqueUa, SpanKind } from './lib/tracing.mjs';

describe('shutdown flushes queued spans', { timeout: 40_000 }, () => {
  let upstream;
  const cleanups = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await upstream?.close();
  });

  const cases = PROTOCOLS.map((p) => [p, 'SIGTERM']).concat([['http/protobuf', 'SIGINT']]);
  for (const [protocol, signal] of cases) {
    it(`${protocol}: ${signal} with OTEL_BSP_SCHEDULE_DELAY=60000 exports the queued spans before exiting`, { timeout: 12_000 }, async () => {
      upstream ??= await startMockUpstream();
      const { receiver, gw } = await startTracedGateway({
        protocol,
        env: { OTEL_BSP_SCHEDULE_DELAY: '60000' },
        config: {
          model_list: [mockModel('claude-haiku'), upstreamModel('up', 'ok', upstream.apiBase)],
          general_settings: { master_key: MASTER_KEY },
        },
      });
      cleanups.push(() => receiver.close(), () => gw.stop());
      const ua = uniqueUa('flush');
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua },
        json: { model: 'up', messages: [{ role: 'user', content: 'flush me' }] },
      });
      assert.equal(r.status, 200, r.text);
      const uaStream = uniqueUa('flush-stream');
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model: 'claude-haiku', messages: [{ role: 'user', content: 'flush me too' }], stream: true },
        { key: MASTER_KEY, headers: { 'user-agent': uaStream } },
      );
      assert.equal(res.status, 200);
      assert.ok(classifyChatEvents(await sse.all(5000)).done);
      const before = receiver.spans().length;
      assert.equal(before, 0, `nothing is exported before the 60 s schedule delay: ${receiver.describe()}`);

      const stopped = await gw.stop({ signal, timeoutMs: 8000 });
      assert.equal(stopped.killed, false, `exits on ${signal}`);
      assert.equal(stopped.code, 0, 'exit code');
      // Nothing can arrive after the exit; allow the receiver's event loop a bounded moment to process what did.
      await receiver
        .waitForSpans(2, { filter: (s) => s.kind === SpanKind.SERVER && [ua, uaStream].includes(s.attributes['user_agent.original']), timeoutMs: 1000 })
        .catch(() => {});
      const servers = receiver.spans().filter((s) => s.kind === SpanKind.SERVER && [ua, uaStream].includes(s.attributes['user_agent.original']));
      assert.equal(servers.length, 2, `both SERVER spans flushed on ${signal} (${before} span(s) had arrived before the signal); ${receiver.describe()}`);
      const traceIds = new Set(servers.map((s) => s.traceId));
      const all = receiver.spans().filter((s) => traceIds.has(s.traceId));
      assert.ok(all.length >= 5, `the child spans too: ${all.map((s) => s.name).join(', ')}`);
    });
  }
});
