// End-to-end: a trace exported by the gateway over each OTLP protocol is decoded by an independent OTLP
// implementation: the official OpenTelemetry JS definitions (the protobufjs code generated from opentelemetry-proto
// that @opentelemetry/otlp-transformer ships), not the project's .proto files. The receivers here are written
// against those definitions only: gRPC via @grpc/grpc-js with the official (de)serialisers, OTLP/HTTP protobuf, and
// OTLP/HTTP JSON mapped to the official message by the OTLP/JSON rules (hex ids, integer enums, int64 as strings)
// and checked to survive the official fromObject → encode → decode → toObject round trip unchanged (so every key
// is a known OTLP field of the right type).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, request, waitFor, upstreamModel, MASTER_KEY } from '../integration/lib/gateway.mjs';
import { startMockUpstream } from '../integration/lib/mock_upstream.mjs';
import { otelEnv } from '../integration/lib/tracing.mjs';
import { OfficialReceiver } from './lib/official_otlp.mjs';

describe('gateway traces decoded by the official OpenTelemetry definitions', { timeout: 60_000 }, () => {
  let upstream;
  let receiver;
  before(async () => {
    upstream = await startMockUpstream();
    receiver = await new OfficialReceiver().start();
  });
  after(async () => {
    await receiver?.close();
    await upstream?.close();
  });

  for (const protocol of ['grpc', 'http/protobuf', 'http/json']) {
    it(`${protocol}: a chat request's trace decodes with the official OTLP types`, { timeout: 15_000 }, async () => {
      const port = protocol === 'grpc' ? receiver.grpcPort : receiver.httpPort;
      const gw = await startGateway({
        config: { model_list: [upstreamModel('gpt-up', 'ok', upstream.apiBase)], general_settings: { master_key: MASTER_KEY } },
        env: otelEnv({
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_SERVICE_NAME: 'litellm-gateway',
          OTEL_BSP_SCHEDULE_DELAY: '100',
        }),
      });
      try {
        const traceId = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex');
        const parentId = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex');
        const r = await request(gw, '/v1/chat/completions', {
          key: MASTER_KEY,
          headers: { traceparent: `00-${traceId}-${parentId}-01` },
          json: { model: 'gpt-up', messages: [{ role: 'user', content: 'decode me' }], max_tokens: 10, temperature: 0.25 },
        });
        assert.equal(r.status, 200, r.text);
        const spans = await waitFor(
          () => {
            const s = receiver.spans().filter((x) => x.traceId === traceId);
            return s.length >= 3 && s.some((x) => x.kind === 2) ? s : null;
          },
          { timeoutMs: 5000, message: `the trace over ${protocol}` },
        );
        for (const e of new Set(spans.map((s) => s.export))) {
          assert.equal(e.protocol, protocol);
          assert.equal(e.error, null);
          if (e.roundTrip) assert.deepEqual(e.roundTrip.decoded, e.roundTrip.sent, 'OTLP/JSON survives the official round trip unchanged');
        }
        const server = spans.find((s) => s.kind === 2);
        assert.equal(server.name, 'POST /v1/chat/completions');
        assert.equal(server.parentSpanId, parentId);
        assert.match(server.spanId, /^[0-9a-f]{16}$/);
        assert.ok(server.end >= server.start && server.start > 1_600_000_000_000_000_000n);
        assert.deepEqual(server.resource['service.name'], ['stringValue', 'litellm-gateway']);
        assert.deepEqual(server.resource['telemetry.sdk.language'], ['stringValue', 'cpp']);
        assert.equal(server.scope.name, 'switchyard');
        assert.deepEqual(server.attrs['http.response.status_code'], ['intValue', '200']);
        assert.deepEqual(server.attrs['gen_ai.request.model'], ['stringValue', 'gpt-up']);
        assert.deepEqual(server.attrs['gen_ai.request.temperature'], ['doubleValue', 0.25]);
        assert.deepEqual(server.attrs['gen_ai.request.max_tokens'], ['intValue', '10']);
        assert.deepEqual(server.attrs['gen_ai.request.stream'], ['boolValue', false]);
        assert.deepEqual(server.attrs['gen_ai.usage.input_tokens'], ['intValue', String(r.json.usage.prompt_tokens)]);
        const fr = server.attrs['gen_ai.response.finish_reasons'];
        assert.equal(fr?.[0], 'arrayValue');
        assert.deepEqual(fr[1].values, [{ stringValue: 'stop' }]);
        const route = spans.find((s) => s.name === 'route');
        const client = spans.find((s) => s.kind === 3);
        assert.equal(route?.kind, 1);
        assert.equal(route.parentSpanId, server.spanId);
        assert.equal(client?.name, 'chat ok');
        assert.equal(client.parentSpanId, server.spanId);
        assert.deepEqual(client.attrs['server.port'], ['intValue', String(upstream.port)]);
        assert.equal(route.attrs['router.latency_ms']?.[0], 'doubleValue');
      } finally {
        await gw.stop();
      }
    });
  }
});
