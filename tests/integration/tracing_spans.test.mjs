// The spans a request records, over each OTLP protocol (gRPC, HTTP protobuf, HTTP JSON), for non-stream and stream
// chat completions, legacy completions, embeddings, the mock provider and an upstream 5xx: the span tree (SERVER →
// route INTERNAL + one CLIENT per attempt), every attribute of the contract with its OTLP type, the resource and
// scope, the incoming traceparent continued and the CLIENT span's traceparent sent upstream, nothing secret.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import {
  request,
  postStream,
  classifyChatEvents,
  waitFor,
  mockModel,
  upstreamModel,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { PROTOCOLS } from './lib/otlp_receiver.mjs';
import {
  startTracedGateway,
  newTraceparent,
  uniqueUa,
  requestSpans,
  assertAttr,
  assertWithin,
  assertNoSecretsInSpans,
  describeSpan,
  attrType,
  mockUsage,
  msToNs,
  SpanKind,
  StatusCode,
  SERVICE_NAME,
} from './lib/tracing.mjs';

const config = (upstream) => ({
  model_list: [
    upstreamModel('gpt-up', 'ok', upstream.apiBase),
    upstreamModel('gpt-gated', 'stream-gated', upstream.apiBase, { stream_timeout: 10 }),
    upstreamModel('gpt-500', 'status-500', upstream.apiBase),
    mockModel('claude-haiku'),
  ],
  general_settings: { master_key: MASTER_KEY },
  // One attempt per request: the retry spans have their own tests.
  router_settings: { num_retries: 0 },
});

/** Checks the resource and scope every span carries. */
function assertResource(span, gw) {
  const r = span.resource;
  assertAttr(r, 'service.name', SERVICE_NAME, 'string');
  assertAttr(r, 'service.version', (v) => typeof v === 'string' && v.length > 0, 'string');
  assertAttr(r, 'telemetry.sdk.name', 'switchyard', 'string');
  assertAttr(r, 'telemetry.sdk.language', 'cpp', 'string');
  assertAttr(r, 'telemetry.sdk.version', (v) => typeof v === 'string' && v.length > 0, 'string');
  assertAttr(r, 'host.name', os.hostname(), 'string');
  assertAttr(r, 'process.pid', gw.proc.pid, 'int');
  // OTEL_RESOURCE_ATTRIBUTES, percent-decoded; OTEL_SERVICE_NAME wins over its service.name
  assertAttr(r, 'deployment.environment', 'test', 'string');
  assertAttr(r, 'team', 'llm platform', 'string');
  assert.equal(span.scope.name, 'switchyard', 'instrumentation scope name');
}

/** The attributes of the SERVER span of an inference request that succeeded through `provider`/`providerModel`. */
function assertServerAttrs(server, { gw, path, operation, publicModel, provider, providerModel, ua, status = 200 }) {
  assertAttr(server, 'http.request.method', 'POST', 'string');
  assertAttr(server, 'url.path', path, 'string');
  assertAttr(server, 'http.response.status_code', status, 'int');
  assertAttr(server, 'http.status_code', status, 'int');
  assertAttr(server, 'user_agent.original', ua, 'string');
  assertAttr(server, 'server.port', gw.port, 'int');
  assertAttr(server, 'llm.model', providerModel, 'string');
  assertAttr(server, 'llm.provider', provider, 'string');
  assertAttr(server, 'gen_ai.operation.name', operation, 'string');
  assertAttr(server, 'gen_ai.provider.name', provider, 'string');
  assertAttr(server, 'gen_ai.system', provider, 'string');
  assertAttr(server, 'gen_ai.request.model', publicModel, 'string');
}

/** The route span: strategy, candidates, the model chosen. */
function assertRouteSpan(route, server, { providerModel, candidates = 1 }) {
  assert.equal(route.kind, SpanKind.INTERNAL, describeSpan(route));
  assert.equal(route.traceId, server.traceId);
  assert.equal(route.parentSpanId, server.spanId);
  assertAttr(route, 'router.strategy', 'simple-shuffle', 'string');
  assertAttr(route, 'router.candidates_evaluated', candidates, 'int');
  assertAttr(route, 'router.model_selected', providerModel, 'string');
  assertAttr(route, 'router.decision_reason', (v) => typeof v === 'string' && v.length > 0, 'string');
  assertAttr(route, 'router.latency_ms', (v) => typeof v === 'number' && v >= 0, 'double');
  assertWithin(route, server);
}

/** The CLIENT span of one upstream attempt to the mock upstream. */
function assertClientSpan(client, server, { upstream, operation, providerModel, status = 200, network = true }) {
  assert.equal(client.name, `${operation} ${providerModel}`, describeSpan(client));
  assert.equal(client.kind, SpanKind.CLIENT);
  assert.equal(client.parentSpanId, server.spanId);
  assertAttr(client, 'gen_ai.operation.name', operation, 'string');
  assertAttr(client, 'gen_ai.request.model', providerModel, 'string');
  if (network) {
    assertAttr(client, 'server.address', '127.0.0.1', 'string');
    assertAttr(client, 'server.port', upstream.port, 'int');
    assertAttr(client, 'http.response.status_code', status, 'int');
  }
  if (status < 400) assert.ok(!('error.type' in client.attributes), `error.type on a successful attempt: ${describeSpan(client)}`);
  assertWithin(client, server);
}

/** The upstream request carrying `marker` has a traceparent naming the CLIENT span as parent, in the trace. */
function assertUpstreamTraceparent(upstream, marker, { traceId, clientSpanId, flags = '01' }) {
  const rec = upstream.requests.find((r) => r.rawBody.includes(marker));
  assert.ok(rec, `the upstream got no request with ${marker}`);
  const tp = rec.headers.traceparent;
  assert.match(String(tp), /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, `upstream traceparent ${tp}`);
  const [, t, p, f] = tp.split('-');
  assert.equal(t, traceId, 'upstream traceparent carries the trace id');
  assert.equal(p, clientSpanId, 'upstream traceparent names the CLIENT span as parent');
  assert.equal(f, flags, 'upstream traceparent flags');
  return rec;
}

for (const protocol of PROTOCOLS) {
  describe(`tracing over ${protocol}`, { timeout: 45_000 }, () => {
    let receiver;
    let gw;
    let upstream;
    const prompts = [];
    const prompt = (label) => {
      const p = `tell me about herons ${label} ${protocol} ${prompts.length}`;
      prompts.push(p);
      return p;
    };

    before(async () => {
      upstream = await startMockUpstream();
      ({ receiver, gw } = await startTracedGateway({
        protocol,
        config: config(upstream),
        env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=llm%20platform,service.name=from-attributes' },
      }));
    });
    after(async () => {
      upstream?.release();
      await gw?.stop();
      await receiver?.close();
      await upstream?.close();
    });

    it('non-stream chat: SERVER → route + CLIENT, every attribute typed, traceparent continued and sent upstream', { timeout: 10_000 }, async () => {
      const tp = newTraceparent();
      const ua = uniqueUa('chat');
      const text = prompt('chat');
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua, traceparent: tp.header, tracestate: 'vendor=abc', baggage: 'tenant=acme' },
        json: { model: 'gpt-up', messages: [{ role: 'user', content: text }], max_tokens: 64, temperature: 0.5, top_p: 0.9 },
      });
      assert.equal(r.status, 200, r.text);
      const { server, route, clients, children } = await requestSpans(receiver, ua);

      assert.equal(server.name, 'POST /v1/chat/completions');
      assert.equal(server.kind, SpanKind.SERVER);
      assert.equal(server.traceId, tp.traceId, 'continues the incoming trace');
      assert.equal(server.parentSpanId, tp.parentId, 'child of the incoming span');
      assert.equal(server.status.code, StatusCode.UNSET, `status of a 200: ${describeSpan(server)}`);
      assert.ok(server.endTimeUnixNano > server.startTimeUnixNano);
      assertResource(server, gw);
      assertServerAttrs(server, { gw, path: '/v1/chat/completions', operation: 'chat', publicModel: 'gpt-up', provider: 'openai', providerModel: 'ok', ua });
      assertAttr(server, 'llm.tokens.prompt', r.json.usage.prompt_tokens, 'int');
      assertAttr(server, 'llm.tokens.completion', r.json.usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.input_tokens', r.json.usage.prompt_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.output_tokens', r.json.usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.response.id', r.json.id, 'string');
      assertAttr(server, 'gen_ai.response.model', (v) => ['ok', 'gpt-up'].includes(v), 'string');
      assertAttr(server, 'gen_ai.response.finish_reasons', ['stop'], 'array');
      assert.ok(server.rawAttributes['gen_ai.response.finish_reasons'].value.values.every((v) => 'stringValue' in v), 'finish_reasons is a string array');
      assertAttr(server, 'gen_ai.request.max_tokens', 64, 'int');
      assertAttr(server, 'gen_ai.request.temperature', 0.5, 'double');
      assertAttr(server, 'gen_ai.request.top_p', 0.9, 'double');
      assertAttr(server, 'gen_ai.request.stream', false, 'bool');

      assert.equal(route.length, 1, `one route span; children: ${children.map((c) => c.name).join(', ')}`);
      assertRouteSpan(route[0], server, { providerModel: 'ok' });
      assert.equal(clients.length, 1, `one CLIENT span per attempt; children: ${children.map((c) => c.name).join(', ')}`);
      const client = clients[0];
      assertClientSpan(client, server, { upstream, operation: 'chat', providerModel: 'ok' });
      assertAttr(client, 'gen_ai.provider.name', 'openai', 'string');
      assertAttr(client, 'gen_ai.request.max_tokens', 64, 'int');
      assert.equal(children.length, 2, `children: ${children.map((c) => c.name).join(', ')}`);
      for (const s of [server, route[0], client]) assert.equal(s.resource.attributes['service.name'], SERVICE_NAME);

      const rec = assertUpstreamTraceparent(upstream, text, { traceId: tp.traceId, clientSpanId: client.spanId });
      assert.equal(rec.headers.tracestate, 'vendor=abc', 'tracestate forwarded upstream');
      assert.match(String(rec.headers.baggage), /(^|,)\s*tenant=acme\s*(;|,|$)/, 'baggage forwarded upstream');
    });

    it('stream chat: usage from the final chunk (stripped for the client), first-token event, ends after the last byte', { timeout: 10_000 }, async () => {
      const ua = uniqueUa('stream');
      const text = prompt('stream');
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model: 'gpt-gated', messages: [{ role: 'user', content: text }], stream: true, max_tokens: 32, temperature: 1, top_p: 1 },
        { key: MASTER_KEY, headers: { 'user-agent': ua } },
      );
      assert.equal(res.status, 200);
      const first = await sse.next(5000);
      assert.ok(first?.json, `first event ${JSON.stringify(first)}`);
      await waitFor(() => upstream.gatedWaiting > 0, { timeoutMs: 3000, message: 'the gated upstream stream' });
      const releasedAt = Date.now();
      upstream.release();
      const rest = await sse.all(5000);
      const { chunks, done, errors } = classifyChatEvents([first, ...rest]);
      assert.ok(done, 'stream ends with [DONE]');
      assert.deepEqual(errors, []);
      for (const c of chunks) {
        assert.ok(!('usage' in c), `the client did not ask for usage but got a chunk with a usage key: ${JSON.stringify(c)}`);
        assert.ok(Array.isArray(c.choices) && c.choices.length > 0, `a chunk without choices (a usage chunk?) reached the client: ${JSON.stringify(c)}`);
      }
      const upRec = upstream.requests.find((q) => q.rawBody.includes(text));
      assert.equal(upRec.body.stream_options?.include_usage, true, 'the gateway asks the upstream for usage');

      const { server, route, clients } = await requestSpans(receiver, ua);
      assert.equal(server.name, 'POST /v1/chat/completions');
      assert.equal(server.parentSpanId, '', 'a root span without an incoming traceparent');
      assert.equal(server.status.code, StatusCode.UNSET, describeSpan(server));
      assertServerAttrs(server, { gw, path: '/v1/chat/completions', operation: 'chat', publicModel: 'gpt-gated', provider: 'openai', providerModel: 'stream-gated', ua });
      const usage = mockUsage(text, 'gated-first gated-second gated-third');
      assertAttr(server, 'llm.tokens.prompt', usage.prompt_tokens, 'int');
      assertAttr(server, 'llm.tokens.completion', usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.input_tokens', usage.prompt_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.output_tokens', usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.response.id', chunks[0].id, 'string');
      assertAttr(server, 'gen_ai.response.finish_reasons', ['stop'], 'array');
      assertAttr(server, 'gen_ai.request.stream', true, 'bool');
      assertAttr(server, 'gen_ai.request.max_tokens', 32, 'int');
      assertAttr(server, 'gen_ai.request.temperature', 1, 'double');
      assertAttr(server, 'gen_ai.request.top_p', 1, 'double');

      const ft = server.events.filter((e) => e.name === 'gen_ai.first_token');
      assert.equal(ft.length, 1, `one gen_ai.first_token event; events: ${server.events.map((e) => e.name)}`);
      assert.ok(ft[0].timeUnixNano >= server.startTimeUnixNano && ft[0].timeUnixNano <= server.endTimeUnixNano, 'first token within the span');
      // the first token came before the upstream was released; the span ended after the rest was written
      assert.ok(ft[0].timeUnixNano <= msToNs(releasedAt + 1), 'first-token event before the rest of the stream');
      assert.ok(server.endTimeUnixNano >= msToNs(releasedAt - 1), 'the SERVER span ends after the last byte, not at the response head');

      assert.equal(route.length, 1);
      assertRouteSpan(route[0], server, { providerModel: 'stream-gated' });
      assert.equal(clients.length, 1);
      assertClientSpan(clients[0], server, { upstream, operation: 'chat', providerModel: 'stream-gated' });
      assert.ok(clients[0].endTimeUnixNano >= msToNs(releasedAt - 1), 'the attempt span covers the whole upstream stream');
      assertUpstreamTraceparent(upstream, text, { traceId: server.traceId, clientSpanId: clients[0].spanId });
    });

    it('stream chat with include_usage: the client gets its usage chunk and the span the same counts', { timeout: 10_000 }, async () => {
      const ua = uniqueUa('stream-usage');
      const text = prompt('stream-usage');
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model: 'gpt-up', messages: [{ role: 'user', content: text }], stream: true, stream_options: { include_usage: true } },
        { key: MASTER_KEY, headers: { 'user-agent': ua } },
      );
      assert.equal(res.status, 200);
      const { chunks, done } = classifyChatEvents(await sse.all(5000));
      assert.ok(done);
      const usageChunk = chunks.find((c) => c.usage);
      assert.ok(usageChunk, 'the client asked for usage and gets it');
      const { server } = await requestSpans(receiver, ua);
      assertAttr(server, 'gen_ai.usage.input_tokens', usageChunk.usage.prompt_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.output_tokens', usageChunk.usage.completion_tokens, 'int');
      assertAttr(server, 'llm.tokens.prompt', usageChunk.usage.prompt_tokens, 'int');
      assertAttr(server, 'llm.tokens.completion', usageChunk.usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.request.stream', true, 'bool');
      assert.equal(server.events.filter((e) => e.name === 'gen_ai.first_token').length, 1);
    });

    it('mock provider: llm.provider "mock", the model id, a CLIENT attempt without a network peer', { timeout: 10_000 }, async () => {
      const ua = uniqueUa('mock');
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua },
        json: { model: 'claude-haiku', messages: [{ role: 'user', content: prompt('mock') }] },
      });
      assert.equal(r.status, 200, r.text);
      const { server, route, clients } = await requestSpans(receiver, ua);
      assertServerAttrs(server, { gw, path: '/v1/chat/completions', operation: 'chat', publicModel: 'claude-haiku', provider: 'mock', providerModel: 'claude-haiku', ua });
      assertAttr(server, 'gen_ai.usage.input_tokens', r.json.usage.prompt_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.output_tokens', r.json.usage.completion_tokens, 'int');
      assert.ok(!('gen_ai.request.max_tokens' in server.attributes), 'no max_tokens attribute when the client sent none');
      assert.equal(route.length, 1);
      assertRouteSpan(route[0], server, { providerModel: 'claude-haiku' });
      assert.equal(clients.length, 1, 'one attempt span for the mock provider too');
      assertClientSpan(clients[0], server, { upstream, operation: 'chat', providerModel: 'claude-haiku', network: false });
    });

    it('legacy completions and embeddings: their operation names and attempt spans', { timeout: 10_000 }, async () => {
      const uaC = uniqueUa('completions');
      const c = await request(gw, '/v1/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': uaC },
        json: { model: 'gpt-up', prompt: prompt('completions'), max_tokens: 16 },
      });
      assert.equal(c.status, 200, c.text);
      const uaE = uniqueUa('embeddings');
      const e = await request(gw, '/v1/embeddings', {
        key: MASTER_KEY,
        headers: { 'user-agent': uaE },
        json: { model: 'gpt-up', input: prompt('embeddings') },
      });
      assert.equal(e.status, 200, e.text);

      const cs = await requestSpans(receiver, uaC);
      assert.equal(cs.server.name, 'POST /v1/completions');
      assertServerAttrs(cs.server, { gw, path: '/v1/completions', operation: 'text_completion', publicModel: 'gpt-up', provider: 'openai', providerModel: 'ok', ua: uaC });
      assertAttr(cs.server, 'gen_ai.usage.input_tokens', c.json.usage.prompt_tokens, 'int');
      assertAttr(cs.server, 'gen_ai.usage.output_tokens', c.json.usage.completion_tokens, 'int');
      assertAttr(cs.server, 'gen_ai.request.max_tokens', 16, 'int');
      assert.equal(cs.clients.length, 1);
      assertClientSpan(cs.clients[0], cs.server, { upstream, operation: 'text_completion', providerModel: 'ok' });

      const es = await requestSpans(receiver, uaE);
      assert.equal(es.server.name, 'POST /v1/embeddings');
      assertServerAttrs(es.server, { gw, path: '/v1/embeddings', operation: 'embeddings', publicModel: 'gpt-up', provider: 'openai', providerModel: 'ok', ua: uaE });
      assertAttr(es.server, 'gen_ai.usage.input_tokens', e.json.usage.prompt_tokens, 'int');
      assert.equal(es.clients.length, 1);
      assertClientSpan(es.clients[0], es.server, { upstream, operation: 'embeddings', providerModel: 'ok' });
    });

    it('upstream 500: SERVER and CLIENT spans ERROR with a description, an exception event, error.type', { timeout: 10_000 }, async () => {
      const ua = uniqueUa('up500');
      const r = await request(gw, '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'user-agent': ua },
        json: { model: 'gpt-500', messages: [{ role: 'user', content: prompt('up500') }] },
      });
      assert.ok(r.status >= 500, `status ${r.status}`);
      const { server, clients } = await requestSpans(receiver, ua);
      assert.equal(server.status.code, StatusCode.ERROR, describeSpan(server));
      assert.ok(server.status.message.length > 0, 'an ERROR status has a description');
      assertAttr(server, 'http.response.status_code', r.status, 'int');
      const spansWithException = [server, ...clients].filter((s) => s.events.some((e) => e.name === 'exception'));
      assert.ok(spansWithException.length > 0, 'an exception event on the SERVER or CLIENT span');
      assert.equal(clients.length, 1);
      assertAttr(clients[0], 'http.response.status_code', 500, 'int');
      assertAttr(clients[0], 'error.type', (v) => typeof v === 'string' && v.length > 0, 'string');
      assert.equal(clients[0].status.code, StatusCode.ERROR, describeSpan(clients[0]));
    });

    it(`the export itself: ${protocol}, no compression by default, spec encoding, nothing secret, no prompt text`, { timeout: 10_000 }, async () => {
      const exps = receiver.exports;
      assert.ok(exps.length > 0);
      for (const e of exps) {
        assert.equal(e.protocol, protocol, `export protocol`);
        assert.equal(e.error, null, `decode error: ${e.error}`);
        if (protocol === 'grpc') {
          assert.equal(e.path, '/opentelemetry.proto.collector.trace.v1.TraceService/Export');
        } else {
          assert.equal(e.path, '/v1/traces', '/v1/traces is appended to OTEL_EXPORTER_OTLP_ENDPOINT');
          assert.equal(e.compressed, false, 'no compression unless asked');
          assert.equal(e.contentEncoding, '', 'no Content-Encoding unless asked');
        }
        if (protocol === 'http/json') assert.deepEqual(e.jsonProblems, [], 'OTLP/JSON encoding rules');
      }
      if (protocol === 'grpc') assert.ok(receiver.grpcMessages.every((m) => !m.compressed), 'gRPC messages uncompressed by default');
      assert.deepEqual(receiver.otherRequests, []);
      const spans = receiver.spans();
      for (const s of spans) {
        assert.match(s.traceId, /^[0-9a-f]{32}$/);
        assert.notEqual(s.traceId, '0'.repeat(32));
        assert.match(s.spanId, /^[0-9a-f]{16}$/);
        assert.notEqual(s.spanId, '0'.repeat(16));
        assert.deepEqual(s.duplicateKeys, [], `duplicate attribute keys on ${s.name}`);
        for (const [k, v] of Object.entries(s.rawAttributes)) {
          if (v.type === 'intValue') assert.equal(typeof v.value, 'string', `int64 ${k} as a decimal string (JSON) / Long string (protobuf)`);
        }
      }
      const ids = spans.map((s) => s.spanId);
      assert.equal(new Set(ids).size, ids.length, 'span ids are unique');
      assertNoSecretsInSpans(spans);
      const strings = spans.flatMap((s) => [
        ...Object.values(s.attributes).map(String),
        ...s.events.flatMap((e) => Object.values(e.attributes).map(String)),
        s.status.message,
      ]);
      for (const p of prompts) {
        assert.ok(!strings.some((x) => x.includes(p)), `prompt text recorded without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: ${p}`);
      }
      for (const s of spans) {
        assert.ok(!Object.keys(s.attributes).some((k) => /prompt$|completion$|messages|content/.test(k) && !/^llm\.tokens\./.test(k)),
          `a message-content attribute without opt-in: ${describeSpan(s)}`);
      }
      assert.equal(attrType(spans[0].resource, 'process.pid'), 'intValue');
    });
  });
}
