// A collector that is down (the port refuses), hanging (accepts, never answers) or unavailable (503 + Retry-After /
// gRPC UNAVAILABLE) never slows or fails a request: every request still succeeds, each well within a generous 2 s
// bound (a hang check, not a performance measurement), and the gateway still stops cleanly on SIGTERM. Retryable
// failures are retried (honouring Retry-After) within the export timeout.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  request,
  postStream,
  classifyChatEvents,
  closedPort,
  waitFor,
  mockModel,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startOtlpReceiver, closedEndpointEnv, PROTOCOLS } from './lib/otlp_receiver.mjs';
import { otelEnv, uniqueUa } from './lib/tracing.mjs';

const REQUEST_BOUND_MS = 2000;
const config = { model_list: [mockModel('claude-haiku')], general_settings: { master_key: MASTER_KEY } };
const FAST_FAIL = { OTEL_EXPORTER_OTLP_TIMEOUT: '1000', OTEL_BSP_EXPORT_TIMEOUT: '1000', OTEL_SERVICE_NAME: 'litellm-gateway' };

/** One non-stream and one stream request, each bounded; both must succeed. */
async function roundTrip(gw) {
  const t0 = Date.now();
  const r = await request(gw, '/v1/chat/completions', {
    key: MASTER_KEY,
    headers: { 'user-agent': uniqueUa('down') },
    json: { model: 'claude-haiku', messages: [{ role: 'user', content: 'still here?' }] },
    timeoutMs: REQUEST_BOUND_MS,
  });
  assert.equal(r.status, 200, r.text);
  const { res, sse } = await postStream(
    gw,
    '/v1/chat/completions',
    { model: 'claude-haiku', messages: [{ role: 'user', content: 'still streaming?' }], stream: true },
    { key: MASTER_KEY, timeoutMs: REQUEST_BOUND_MS },
  );
  assert.equal(res.status, 200);
  assert.ok(classifyChatEvents(await sse.all(REQUEST_BOUND_MS)).done, 'the stream completes');
  return Date.now() - t0;
}

describe('collector down, hanging or unavailable', { timeout: 50_000 }, () => {
  const cleanups = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  // The three protocols of one failure run side by side (each gateway on one worker): most of the time is spent
  // waiting on export timeouts, not computing.
  for (const failure of ['refused', 'hang', 'unavailable']) {
    describe(`collector ${failure}`, { concurrency: true }, () => {
      for (const protocol of PROTOCOLS) {
        it(`${protocol}, collector ${failure}: every request succeeds promptly; SIGTERM still exits cleanly`, { timeout: 15_000 }, async (t) => {
          let receiver;
          let env;
          if (failure === 'refused') {
            env = closedEndpointEnv(await closedPort(), protocol, FAST_FAIL);
          } else {
            receiver = await startOtlpReceiver({ mode: failure, retryAfterSeconds: 1 });
            cleanups.push(() => receiver.close());
            env = receiver.env(protocol, FAST_FAIL);
          }
          const gw = await startGateway({ config, env: otelEnv(env), workers: 1 });
          cleanups.push(() => gw.stop());

          // Traffic for at least several export cycles (100 ms each), and, with a live receiver, until the exporter is
          // actually stuck on (or retrying) an export, then more.
          const start = Date.now();
          let rounds = 0;
          let worst = 0;
          while ((Date.now() - start < 500 || rounds < 3) && rounds < 300) {
            worst = Math.max(worst, await roundTrip(gw));
            rounds++;
          }
          if (receiver) {
            await receiver.waitForExports(1, { timeoutMs: 3000, message: 'an export attempt' });
            for (let i = 0; i < 3; i++) worst = Math.max(worst, await roundTrip(gw));
          }
          t.diagnostic(`${rounds + (receiver ? 3 : 0)} round trips, slowest ${worst} ms; exports seen: ${receiver?.exports.length ?? 'n/a'}`);

          const stopped = await gw.stop({ timeoutMs: 8000 });
          assert.equal(stopped.killed, false, 'the gateway exits on SIGTERM within 8 s even with the collector in trouble');
          assert.equal(stopped.code, 0, `exit code; stderr tail: ${gw.stderr.split('\n').slice(-5).join('\n')}`);
        });
      }
    });
  }

  it('OTEL_BSP_MAX_QUEUE_SIZE=4 with a hanging collector: requests succeed, the overflow is dropped and said so in a warning', { timeout: 15_000 }, async () => {
    const receiver = await startOtlpReceiver({ mode: 'hang' });
    cleanups.push(() => receiver.close());
    const gw = await startGateway({
      config,
      env: otelEnv(receiver.env('http/protobuf', { ...FAST_FAIL, OTEL_BSP_MAX_QUEUE_SIZE: '4', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2' })),
    });
    cleanups.push(() => gw.stop());
    for (let i = 0; i < 6; i++) await roundTrip(gw); // 12 requests, 36 spans or so: far more than 4 queued + 2 in flight
    const stopped = await gw.stop({ timeoutMs: 8000 });
    assert.equal(stopped.killed, false);
    assert.equal(stopped.code, 0);
    const exported = receiver.spans().length;
    const warnings = gw.logLines().filter((l) => (l.level === 'warn' || l.level === 'warning') && /drop/i.test(JSON.stringify(l)));
    assert.ok(warnings.length >= 1, `a warning about dropped spans; ${exported} span(s) reached the collector; stderr tail:\n${gw.stderr.split('\n').slice(-6).join('\n')}`);
    assert.ok(warnings.length <= 2, `the drop warning is rate-limited (one a minute, plus perhaps a final count): ${warnings.length} lines`);
  });

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: a retryable failure is retried${protocol === 'grpc' ? '' : ' after Retry-After'} and the spans arrive`, { timeout: 10_000 }, async () => {
      const receiver = await startOtlpReceiver({ mode: 'unavailable', retryAfterSeconds: 1 });
      cleanups.push(() => receiver.close());
      const gw = await startGateway({
        config,
        env: otelEnv(receiver.env(protocol, { OTEL_EXPORTER_OTLP_TIMEOUT: '5000', OTEL_BSP_EXPORT_TIMEOUT: '5000' })),
      });
      cleanups.push(() => gw.stop());
      const ua = uniqueUa('retry');
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua },
        json: { model: 'claude-haiku', messages: [{ role: 'user', content: 'retry me' }] },
        timeoutMs: REQUEST_BOUND_MS,
      });
      assert.equal(r.status, 200);
      const [first] = await receiver.waitForExports(1, { timeoutMs: 3000 });
      assert.ok(first.spans.some((s) => s.attributes['user_agent.original'] === ua), 'the first attempt carried the span');
      receiver.setMode('ok');
      const carries = (e) => e.spans.some((sp) => sp.attributes['user_agent.original'] === ua);
      await waitFor(() => receiver.exports.some((e) => e.mode === 'ok' && carries(e)), {
        timeoutMs: 5000,
        message: 'a retry reaching the receiver after it recovered',
      });
      if (protocol !== 'grpc') {
        const attempts = receiver.exports.filter(carries);
        // Retry-After: 1 → the next attempt waits about a second (a lower bound with 100 ms of slack)
        assert.ok(attempts[1].time - attempts[0].time >= 900, `the retry came ${attempts[1].time - attempts[0].time} ms after a 503 with Retry-After: 1`);
      }
    });
  }
});
