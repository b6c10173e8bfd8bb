// Errors in spans: 5xx and upstream failures are ERROR with a description and an exception event, 4xx leaves the
// SERVER span unset; a client that goes away mid-stream still gets its span, saying so; log lines about a request
// carry its trace_id/span_id; secrets are never recorded; message content only when opted in.
// The export protocol is left to its default here (http/protobuf): only the endpoint is set.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  request,
  postStream,
  classifyChatEvents,
  closedPort,
  mockModel,
  upstreamModel,
  MASTER_KEY,
  UPSTREAM_KEY,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import {
  startTracedGateway,
  uniqueUa,
  newTraceparent,
  requestSpans,
  waitForServerSpan,
  assertAttr,
  assertNoSecretsInSpans,
  describeSpan,
  logLines,
  SpanKind,
  StatusCode,
} from './lib/tracing.mjs';
import { allSpanStrings } from './lib/otlp_receiver.mjs';

const WRONG_KEY = 'sk-wrong-key-7f3a9';

describe('errors, cancellation, logs and secrets in traces', { timeout: 45_000 }, () => {
  let receiver;
  let gw;
  let upstream;
  const prompts = [];
  const prompt = (label) => {
    const p = `secret prompt text ${label} ${prompts.length} egret`;
    prompts.push(p);
    return p;
  };
  // opts.key: the key to send (default the master key); { key: undefined } sends no Authorization at all
  const chat = (model, opts = {}) => {
    const { ua, headers = {}, content } = opts;
    return request(gw, '/v1/chat/completions', {
      key: 'key' in opts ? opts.key : MASTER_KEY,
      headers: { 'user-agent': ua, ...headers },
      json: { model, messages: [{ role: 'user', content: content ?? prompt(model) }] },
    });
  };

  before(async () => {
    upstream = await startMockUpstream();
    const dead = await closedPort();
    ({ receiver, gw } = await startTracedGateway({
      protocol: 'http/protobuf',
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: undefined, SWITCHYARD_LOG_LEVEL: 'debug' },
      config: {
        model_list: [
          mockModel('claude-haiku'),
          upstreamModel('up', 'ok', upstream.apiBase),
          upstreamModel('bad-500', 'status-500', upstream.apiBase),
          upstreamModel('bad-503', 'status-503', upstream.apiBase),
          upstreamModel('bad-400', 'status-400', upstream.apiBase),
          upstreamModel('dead', 'ok', `http://127.0.0.1:${dead}/v1`, { timeout: 5 }),
          upstreamModel('slow', 'slow-5000', upstream.apiBase, { timeout: 0.3 }),
          upstreamModel('forever', 'stream-forever', upstream.apiBase, { stream_timeout: 10 }),
          upstreamModel('breaker', 'stream-break', upstream.apiBase, { stream_timeout: 10 }),
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0 },
      },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  it('4xx leaves the SERVER span unset: unknown model 400, wrong key 401, upstream 400', { timeout: 10_000 }, async () => {
    const cases = [
      ['no-such-model', {}, 400],
      ['claude-haiku', { key: WRONG_KEY }, 401],
      ['claude-haiku', { key: undefined }, 401],
      ['bad-400', {}, 400],
    ];
    for (const [model, opts, status] of cases) {
      const ua = uniqueUa(`4xx-${status}`);
      const r = await chat(model, { ua, ...opts });
      assert.equal(r.status, status, r.text);
      const server = await waitForServerSpan(receiver, ua);
      assert.equal(server.name, 'POST /v1/chat/completions');
      assert.equal(server.status.code, StatusCode.UNSET, `${model} → ${status}: ${describeSpan(server)}`);
      assertAttr(server, 'http.response.status_code', status, 'int');
      assertAttr(server, 'http.status_code', status, 'int');
    }
  });

  for (const [model, label, expectStatus] of [
    ['bad-500', 'upstream 500', 500],
    ['bad-503', 'upstream 503', 503],
    ['dead', 'upstream refuses the connection', null],
    ['slow', 'upstream times out', null],
  ]) {
    it(`${label}: SERVER and CLIENT ERROR with a description, an exception event, error.type`, { timeout: 10_000 }, async () => {
      const ua = uniqueUa(model);
      const r = await chat(model, { ua });
      assert.ok(r.status >= 500, `status ${r.status}: ${r.text}`);
      const { server, clients } = await requestSpans(receiver, ua);
      assert.equal(server.status.code, StatusCode.ERROR, describeSpan(server));
      assert.ok(server.status.message.length > 0, 'a description');
      assertAttr(server, 'http.response.status_code', r.status, 'int');
      assert.equal(clients.length, 1, 'one attempt');
      const client = clients[0];
      assert.equal(client.status.code, StatusCode.ERROR, describeSpan(client));
      assertAttr(client, 'error.type', (v) => typeof v === 'string' && v.length > 0, 'string');
      if (expectStatus) assertAttr(client, 'http.response.status_code', expectStatus, 'int');
      else assert.ok(!('http.response.status_code' in client.attributes), 'no response status when there was no response');
      const withException = [server, client].filter((s) => s.events.some((e) => e.name === 'exception'));
      assert.ok(withException.length > 0, `an exception event: ${describeSpan(server)} ${describeSpan(client)}`);
      for (const s of withException) {
        const ev = s.events.find((e) => e.name === 'exception');
        assert.ok(ev.timeUnixNano >= s.startTimeUnixNano && ev.timeUnixNano <= s.endTimeUnixNano, 'exception event within its span');
        assert.ok(typeof ev.attributes['exception.message'] === 'string' || typeof ev.attributes['exception.type'] === 'string',
          `exception event has exception.message or exception.type: ${JSON.stringify(ev.attributes)}`);
      }
    });
  }

  it('upstream breaks mid-stream: the SERVER span is ERROR', { timeout: 10_000 }, async () => {
    const ua = uniqueUa('breaker');
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'breaker', messages: [{ role: 'user', content: prompt('breaker') }], stream: true },
      { key: MASTER_KEY, headers: { 'user-agent': ua } },
    );
    assert.equal(res.status, 200);
    await sse.all(5000);
    const { server, clients } = await requestSpans(receiver, ua);
    assert.equal(server.status.code, StatusCode.ERROR, describeSpan(server));
    assert.ok(server.status.message.length > 0);
    assert.equal(clients.length, 1);
    assert.equal(clients[0].status.code, StatusCode.ERROR, describeSpan(clients[0]));
  });

  it('the client goes away mid-stream: the span still arrives, ERROR, saying the client went away', { timeout: 10_000 }, async (t) => {
    const ua = uniqueUa('gone');
    const ac = new AbortController();
    t.after(() => ac.abort());
    const closedBefore = upstream.closedConnections;
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'forever', messages: [{ role: 'user', content: prompt('forever') }], stream: true },
      { key: MASTER_KEY, headers: { 'user-agent': ua }, signal: ac.signal },
    );
    assert.equal(res.status, 200);
    assert.ok((await sse.next(5000))?.json, 'a first chunk');
    ac.abort();
    await sse.cancel();
    await upstream.waitForClosedConnections(closedBefore + 1, { timeoutMs: 3000 });
    const server = await waitForServerSpan(receiver, ua);
    assert.equal(server.status.code, StatusCode.ERROR, describeSpan(server));
    assert.match(server.status.message, /client/i, 'the description says the client went away');
    assert.ok(server.events.some((e) => e.name === 'gen_ai.first_token'), 'the first token was sent before the client left');
  });

  it('log lines about a request carry the trace_id and span_id of its SERVER span', { timeout: 10_000 }, async () => {
    const tp = newTraceparent();
    const ua = uniqueUa('logs');
    const r = await chat('bad-500', { ua, headers: { traceparent: tp.header } });
    assert.ok(r.status >= 500);
    const requestId = r.headers.get('x-request-id');
    assert.ok(requestId, 'x-request-id');
    const server = await waitForServerSpan(receiver, ua);
    assert.equal(server.traceId, tp.traceId);
    const failed = logLines(gw).filter((l) => l.msg === 'call failed' && l.request_id === requestId);
    assert.equal(failed.length, 1, `one "call failed" line for ${requestId}`);
    assert.equal(failed[0].trace_id, server.traceId, `trace_id of ${JSON.stringify(failed[0])}`);
    assert.equal(failed[0].span_id, server.spanId, `span_id of ${JSON.stringify(failed[0])}`);

    // every line of any traced request (the debug access line too) is correlated with that request's SERVER span
    const servers = new Map(receiver.spans().filter((s) => s.kind === SpanKind.SERVER).map((s) => [s.traceId + s.spanId, s]));
    const aboutRequests = logLines(gw).filter((l) => typeof l.request_id === 'string');
    assert.ok(aboutRequests.length >= 2, 'request log lines (debug level)');
    for (const l of aboutRequests) {
      if (l.path === '/health' || l.path === '/health/liveliness' || l.path === '/health/readiness') continue;
      assert.match(String(l.trace_id), /^[0-9a-f]{32}$/, `trace_id on ${JSON.stringify(l)}`);
      assert.match(String(l.span_id), /^[0-9a-f]{16}$/, `span_id on ${JSON.stringify(l)}`);
    }
    const forThis = aboutRequests.filter((l) => l.request_id === requestId);
    for (const l of forThis) assert.ok(servers.has(l.trace_id + l.span_id) && l.trace_id === server.traceId && l.span_id === server.spanId, JSON.stringify(l));
  });

  it('never recorded: Authorization, the master key, a wrong key, the upstream key; no prompt text by default', { timeout: 10_000 }, async () => {
    const spans = receiver.spans();
    assert.ok(spans.length >= 10, receiver.describe());
    // only the endpoint was set here: the protocol is the spec default, http/protobuf, on /v1/traces
    for (const e of receiver.exports) {
      assert.equal(e.protocol, 'http/protobuf', 'the default OTEL_EXPORTER_OTLP_PROTOCOL');
      assert.equal(e.path, '/v1/traces');
    }
    assertNoSecretsInSpans(spans, [MASTER_KEY, UPSTREAM_KEY, WRONG_KEY]);
    const strings = allSpanStrings(spans);
    for (const p of prompts) assert.ok(!strings.some((s) => s.includes(p)), `prompt text in a span: ${p}`);
    assert.ok(!strings.some((s) => s.includes('upstream echo:')), 'completion text in a span');
    for (const s of spans) {
      for (const k of Object.keys(s.attributes)) assert.ok(!/authorization|api[._-]?key/i.test(k), `attribute ${k} on ${s.name}`);
    }
  });
});

describe('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', { timeout: 20_000 }, () => {
  let receiver;
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    ({ receiver, gw } = await startTracedGateway({
      protocol: 'http/json',
      env: { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' },
      config: { model_list: [upstreamModel('up', 'ok', upstream.apiBase)], general_settings: { master_key: MASTER_KEY } },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  it('records the prompt and the completion text (and still no secret)', { timeout: 10_000 }, async () => {
    const ua = uniqueUa('capture');
    const text = 'captured prompt about a grey heron 4821';
    const r = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers: { 'user-agent': ua },
      json: { model: 'up', messages: [{ role: 'user', content: text }] },
    });
    assert.equal(r.status, 200, r.text);
    const { server, trace } = await requestSpans(receiver, ua);
    const strings = allSpanStrings(trace);
    assert.ok(strings.some((s) => s.includes(text)), `the prompt text is recorded somewhere in the trace: ${describeSpan(server)}`);
    assert.ok(strings.some((s) => s.includes(r.json.choices[0].message.content)), 'the completion text is recorded somewhere in the trace');
    assertNoSecretsInSpans(trace);
  });
});
