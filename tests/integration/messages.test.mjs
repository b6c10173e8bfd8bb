// Anthropic's Messages API on the gateway (`POST /v1/messages`, `POST /v1/messages/count_tokens`), with raw fetch:
// whole answers and streams (event sequence, text and tool use, usage) from mock deployments and from the loopback
// OpenAI mock upstream (what the upstream receives is checked too), errors in Anthropic's shape (a missing
// max_tokens, an unknown model, auth, upstream errors with Retry-After, a stream failing mid-way), x-api-key and
// Bearer auth, the routing headers, count_tokens estimates, and the SERVER span of both routes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, request, postStream, mockModel, upstreamModel, MASTER_KEY, UPSTREAM_KEY } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, describeSpan, SpanKind } from './lib/tracing.mjs';

const MOCK_ECHO = 'This is a mock response from Switchyard. You said: ';

const config = (upstream) => ({
  model_list: [
    mockModel('claude-mock'),
    // An anthropic/ deployment answered by the mock: counted by estimate, like any non-Anthropic deployment.
    { model_name: 'claude-mocked-anthropic', litellm_params: { model: 'anthropic/claude-3-5-haiku', mock_response: 'mocked' } },
    upstreamModel('gpt-up', 'ok', upstream.apiBase),
    upstreamModel('gpt-tools', 'tool-call', upstream.apiBase),
    upstreamModel('gpt-429', 'status-429-ra3', upstream.apiBase),
    upstreamModel('gpt-fail-mid', 'stream-fail-after-1', upstream.apiBase),
  ],
  general_settings: { master_key: MASTER_KEY },
  router_settings: { num_retries: 0 },
});

const apiKey = (key = MASTER_KEY) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' });

function post(gw, body, { headers = apiKey(), path = '/v1/messages' } = {}) {
  return request(gw, path, { json: body, headers });
}

/** Asserts Anthropic's error shape, {"type":"error","error":{"type","message"}}, and returns the inner error. */
function assertAnthropicError(r, { status, type }, context = '') {
  const where = `${context ? context + ': ' : ''}status ${r.status} body ${r.text}`;
  assert.equal(r.status, status, `status; ${where}`);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, where);
  assert.equal(r.json?.type, 'error', `top-level type; ${where}`);
  const e = r.json.error;
  assert.equal(e?.type, type, `error.type; ${where}`);
  assert.equal(typeof e.message, 'string', where);
  assert.ok(e.message.length > 0, where);
  assert.deepEqual(Object.keys(e).sort(), ['message', 'type'], `no OpenAI fields; ${where}`);
  assert.ok(r.headers.get('request-id'), `request-id header; ${where}`);
  return e;
}

/**
 * Checks the grammar of an Anthropic event stream: every SSE event names its type in an `event:` line that matches
 * data.type; message_start first, then blocks (start, deltas, stop) with indices 0, 1, ... one at a time, then
 * message_delta and message_stop last. Returns {message, blocks, delta, usage} assembled from it.
 */
function assembleStream(events) {
  for (const ev of events) {
    assert.ok(ev.json, `every event is JSON: ${ev.data}`);
    assert.equal(ev.event, ev.json.type, `event line matches data.type: ${ev.data}`);
  }
  const types = events.map((e) => e.event).filter((t) => t !== 'ping');
  assert.equal(types[0], 'message_start', types.join(','));
  assert.equal(types.at(-1), 'message_stop', types.join(','));
  assert.equal(types.at(-2), 'message_delta', types.join(','));
  const message = events[0].json.message;
  const blocks = [];
  let open = null;
  let delta = null;
  let usage = null;
  for (const { json: e } of events.slice(1)) {
    if (e.type === 'content_block_start') {
      assert.equal(open, null, 'one block at a time');
      assert.equal(e.index, blocks.length, 'block indices count up from 0');
      open = e.index;
      blocks.push({ ...e.content_block, json: '' });
    } else if (e.type === 'content_block_delta') {
      assert.equal(e.index, open, 'deltas go to the open block');
      const b = blocks[e.index];
      if (e.delta.type === 'text_delta') b.text += e.delta.text;
      else if (e.delta.type === 'input_json_delta') b.json += e.delta.partial_json;
      else assert.fail(`unexpected delta ${JSON.stringify(e.delta)}`);
    } else if (e.type === 'content_block_stop') {
      assert.equal(e.index, open);
      open = null;
    } else if (e.type === 'message_delta') {
      assert.equal(open, null, 'blocks are closed before message_delta');
      delta = e.delta;
      usage = e.usage;
    }
  }
  for (const b of blocks) {
    if (b.type === 'tool_use') b.input = b.json === '' ? {} : JSON.parse(b.json);
    delete b.json;
  }
  return { message, blocks, delta, usage };
}

async function stream(gw, body, { headers = apiKey(), path = '/v1/messages' } = {}) {
  const { res, sse } = await postStream(gw, path, { ...body, stream: true }, { headers });
  const events = res.status === 200 ? await sse.all() : [];
  return { res, events };
}

describe('/v1/messages', { timeout: 120_000 }, () => {
  let upstream;
  let gw;

  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({ config: config(upstream) });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('answers a message in Anthropic shape from a mock deployment (x-api-key auth)', async () => {
    const r = await post(gw, { model: 'claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'Hello, plover-7' }] });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /application\/json/);
    const m = r.json;
    assert.match(m.id, /^msg_/);
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'claude-mock');
    assert.deepEqual(m.content, [{ type: 'text', text: MOCK_ECHO + 'Hello, plover-7' }]);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.stop_sequence, null);
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
    assert.ok(!('choices' in m) && !('object' in m));
    // The routing headers, as on the OpenAI endpoints, and the request id where Anthropic's SDKs look for it.
    assert.equal(r.headers.get('x-litellm-model-group'), 'claude-mock');
    assert.equal(r.headers.get('x-litellm-model-id'), 'claude-mock-0');
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '0');
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0');
    assert.ok(r.headers.get('x-request-id'));
    assert.equal(r.headers.get('request-id'), r.headers.get('x-request-id'));
  });

  it('accepts Authorization: Bearer too, and the path without /v1', async () => {
    const body = { model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'bearer' }] };
    const bearer = await post(gw, body, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    assert.equal(bearer.status, 200, bearer.text);
    assert.equal(bearer.json.type, 'message');
    const short = await post(gw, body, { path: '/messages' });
    assert.equal(short.status, 200, short.text);
    assert.equal(short.json.content[0].text, MOCK_ECHO + 'bearer');
  });

  it('translates the request for an OpenAI upstream and the answer back', async () => {
    const r = await post(gw, {
      model: 'gpt-up',
      max_tokens: 300,
      system: [{ type: 'text', text: 'You are terse.' }, { type: 'text', text: 'Answer in English.' }],
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: [{ type: 'text', text: 'what about herons?' }] },
      ],
      stop_sequences: ['END'],
      temperature: 0.2,
      top_p: 0.8,
      top_k: 5,
      metadata: { user_id: 'user-77' },
    });
    assert.equal(r.status, 200, r.text);
    const sent = upstream.requests.at(-1);
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.deepEqual(sent.body, {
      model: 'ok',
      messages: [
        { role: 'system', content: 'You are terse.\nAnswer in English.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'what about herons?' },
      ],
      max_tokens: 300,
      stop: ['END'],
      temperature: 0.2,
      top_p: 0.8,
      user: 'user-77',
    });
    assert.equal(r.json.model, 'gpt-up');
    assert.match(r.json.id, /^msg_up-/, 'derived from the upstream id chatcmpl-up-N');
    assert.deepEqual(r.json.content, [{ type: 'text', text: 'upstream echo: what about herons?' }]);
    assert.equal(r.json.stop_reason, 'end_turn');
    assert.deepEqual(r.json.usage, { input_tokens: 7 + 3, output_tokens: 5 });
    assert.equal(r.headers.get('x-litellm-model-api-base'), upstream.apiBase);
  });

  it('streams the event sequence from a mock deployment', async () => {
    const body = { model: 'claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'stream about egrets, dunlin-4' }] };
    const whole = await post(gw, body);
    const { res, events } = await stream(gw, body);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    assert.equal(res.headers.get('x-litellm-model-group'), 'claude-mock');
    assert.ok(res.headers.get('request-id'));
    assert.ok(!events.some((e) => e.data === '[DONE]'), 'no OpenAI [DONE]');
    const { message, blocks, delta, usage } = assembleStream(events);
    assert.match(message.id, /^msg_/);
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.model, 'claude-mock');
    assert.deepEqual(message.content, []);
    assert.equal(message.stop_reason, null);
    assert.equal(typeof message.usage.input_tokens, 'number');
    assert.deepEqual(blocks, [{ type: 'text', text: whole.json.content[0].text }]);
    assert.ok(events.filter((e) => e.event === 'content_block_delta').length > 3, 'text arrives in pieces');
    assert.deepEqual(delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.deepEqual(usage, whole.json.usage, 'message_delta carries the real usage');
  });

  it('streams from an OpenAI upstream, asking it for usage', async () => {
    const { res, events } = await stream(gw, { model: 'gpt-up', max_tokens: 64, messages: [{ role: 'user', content: 'stream me, sandpiper' }] });
    assert.equal(res.status, 200);
    const sent = upstream.requests.at(-1);
    assert.equal(sent.body.stream, true);
    assert.deepEqual(sent.body.stream_options, { include_usage: true });
    const { message, blocks, delta, usage } = assembleStream(events);
    assert.equal(message.model, 'gpt-up');
    assert.deepEqual(blocks, [{ type: 'text', text: 'upstream echo: stream me, sandpiper' }]);
    assert.equal(delta.stop_reason, 'end_turn');
    assert.deepEqual(usage, { input_tokens: 7 + 3, output_tokens: 5 });
  });

  it('offers tools and answers tool_use blocks (whole)', async () => {
    const r = await post(gw, {
      model: 'gpt-tools',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'weather in Lisbon' }],
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather of a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    assert.equal(r.status, 200, r.text);
    const sent = upstream.requests.at(-1).body;
    assert.deepEqual(sent.tools, [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather of a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ]);
    assert.equal(sent.tool_choice, 'required');
    assert.equal(sent.parallel_tool_calls, false);
    const n = upstream.requests.at(-1).n;
    assert.deepEqual(r.json.content, [
      { type: 'text', text: 'Calling get_weather.' },
      { type: 'tool_use', id: `call_up_${n}`, name: 'get_weather', input: { echo: 'weather in Lisbon' } },
    ]);
    assert.equal(r.json.stop_reason, 'tool_use');
    // OpenAI's prompt_tokens include the cached ones; Anthropic counts them apart.
    assert.equal(r.json.usage.cache_read_input_tokens, 4);
    assert.equal(r.json.usage.input_tokens, 7 + 3);
  });

  it('streams tool use as tool_use blocks with input_json_delta', async () => {
    const { res, events } = await stream(gw, {
      model: 'gpt-tools',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'weather in Porto' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    assert.equal(res.status, 200);
    const n = upstream.requests.at(-1).n;
    const { blocks, delta, usage } = assembleStream(events);
    assert.deepEqual(blocks, [
      { type: 'text', text: 'Calling get_weather.' },
      { type: 'tool_use', id: `call_up_${n}`, name: 'get_weather', input: { echo: 'weather in Porto' } },
    ]);
    const jsonDeltas = events.filter((e) => e.json.delta?.type === 'input_json_delta');
    assert.equal(jsonDeltas.length, 2, 'the arguments arrive in pieces');
    assert.equal(delta.stop_reason, 'tool_use');
    assert.equal(usage.cache_read_input_tokens, 4);
    assert.ok(usage.output_tokens > 0);
  });

  it('sends tool results back as OpenAI tool messages', async () => {
    const r = await post(gw, {
      model: 'gpt-up',
      max_tokens: 50,
      messages: [
        { role: 'user', content: 'weather in Lisbon' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Lisbon' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: '21C, clear' }] },
            { type: 'text', text: 'thanks, summarise' },
          ],
        },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(upstream.requests.at(-1).body.messages, [
      { role: 'user', content: 'weather in Lisbon' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }],
      },
      { role: 'tool', tool_call_id: 'toolu_01', content: '21C, clear' },
      { role: 'user', content: 'thanks, summarise' },
    ]);
    assert.equal(r.json.content[0].text, 'upstream echo: thanks, summarise');
  });

  it('rejects a request without max_tokens in Anthropic shape', async () => {
    const r = await post(gw, { model: 'claude-mock', messages: [{ role: 'user', content: 'hi' }] });
    const e = assertAnthropicError(r, { status: 400, type: 'invalid_request_error' });
    assert.equal(e.message, 'max_tokens: Field required');
  });

  it('answers an unknown model with 404 not_found_error', async () => {
    const r = await post(gw, { model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const e = assertAnthropicError(r, { status: 404, type: 'not_found_error' });
    assert.match(e.message, /no-such-model/);
  });

  it('rejects malformed requests and unsupported features in Anthropic shape', async () => {
    const bad = await request(gw, '/v1/messages', { method: 'POST', body: '{"model":', headers: { ...apiKey(), 'content-type': 'application/json' } });
    assertAnthropicError(bad, { status: 400, type: 'invalid_request_error' }, 'invalid JSON');
    const role = await post(gw, { model: 'claude-mock', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] });
    assert.match(assertAnthropicError(role, { status: 400, type: 'invalid_request_error' }).message, /^messages\.0\.role: /);
    const thinking = await post(gw, {
      model: 'claude-mock',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'think' }],
    });
    assert.match(assertAnthropicError(thinking, { status: 400, type: 'invalid_request_error' }).message, /^thinking: /);
    const serverTool = await post(gw, {
      model: 'claude-mock',
      max_tokens: 20,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [{ role: 'user', content: 'search' }],
    });
    assertAnthropicError(serverTool, { status: 400, type: 'invalid_request_error' }, 'server tool');
    const get = await request(gw, '/v1/messages', { headers: apiKey() });
    assertAnthropicError(get, { status: 405, type: 'invalid_request_error' }, 'GET');
    const batches = await post(gw, { requests: [] }, { path: '/v1/messages/batches' });
    assertAnthropicError(batches, { status: 404, type: 'not_found_error' }, 'an unknown path under /v1/messages');
  });

  it('rejects a missing or wrong key with authentication_error, on both routes', async () => {
    const body = { model: 'claude-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const none = await post(gw, body, { path, headers: {} });
      assertAnthropicError(none, { status: 401, type: 'authentication_error' }, `${path} without a key`);
      const wrong = await post(gw, body, { path, headers: apiKey('sk-wrong') });
      assertAnthropicError(wrong, { status: 401, type: 'authentication_error' }, `${path} wrong x-api-key`);
      const wrongBearer = await post(gw, body, { path, headers: { authorization: 'Bearer sk-wrong' } });
      assertAnthropicError(wrongBearer, { status: 401, type: 'authentication_error' }, `${path} wrong Bearer`);
    }
    // The OpenAI endpoints keep OpenAI's shape.
    const chat = await request(gw, '/v1/chat/completions', { json: { model: 'claude-mock', messages: [] } });
    assert.equal(chat.status, 401);
    assert.equal(chat.json.error.type, 'authentication_error');
    assert.ok(!('type' in chat.json));
  });

  it('passes an upstream 429 on as rate_limit_error with its Retry-After', async () => {
    const r = await post(gw, { model: 'gpt-429', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const e = assertAnthropicError(r, { status: 429, type: 'rate_limit_error' });
    assert.equal(e.message, 'upstream says no');
    assert.equal(r.headers.get('retry-after'), '3');
    assert.equal(r.headers.get('x-litellm-model-group'), 'gpt-429');
  });

  it('ends a stream that fails mid-way with an error event', async () => {
    const { res, events } = await stream(gw, { model: 'gpt-fail-mid', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 200);
    const types = events.map((e) => e.event);
    assert.equal(types[0], 'message_start');
    assert.ok(types.includes('content_block_delta'), types.join(','));
    assert.equal(types.at(-1), 'error', types.join(','));
    assert.ok(!types.includes('message_stop'), types.join(','));
    const last = events.at(-1).json;
    assert.equal(last.type, 'error');
    assert.equal(last.error.type, 'api_error');
    assert.equal(last.error.message, 'upstream stream failed');
  });

  it('count_tokens estimates for mock and OpenAI deployments', async () => {
    const body = { model: 'claude-mock', messages: [{ role: 'user', content: 'count these words please' }] };
    const r = await post(gw, body, { path: '/v1/messages/count_tokens' });
    assert.equal(r.status, 200, r.text);
    // estimate: 4 a message plus a token for about every four characters (24 characters here)
    assert.deepEqual(r.json, { input_tokens: 4 + 6 });
    assert.equal(r.headers.get('x-litellm-model-group'), 'claude-mock');
    assert.equal(r.headers.get('x-litellm-model-id'), 'claude-mock-0');
    assert.ok(r.headers.get('request-id'));

    const withSystemAndTools = await post(
      gw,
      {
        ...body,
        model: 'gpt-up',
        system: 'You count.',
        tools: [{ name: 'tally', description: 'Tallies a list of numbers', input_schema: { type: 'object' } }],
      },
      { path: '/v1/messages/count_tokens', headers: { authorization: `Bearer ${MASTER_KEY}` } },
    );
    assert.equal(withSystemAndTools.status, 200, withSystemAndTools.text);
    assert.ok(withSystemAndTools.json.input_tokens > r.json.input_tokens + 10, withSystemAndTools.text);
    assert.equal(withSystemAndTools.headers.get('x-litellm-model-api-base'), upstream.apiBase);

    const mockedAnthropic = await post(gw, { ...body, model: 'claude-mocked-anthropic' }, { path: '/v1/messages/count_tokens' });
    assert.deepEqual(mockedAnthropic.json, { input_tokens: 4 + 6 });
  });

  it('count_tokens sends nothing upstream and rejects like messages', async () => {
    const before = upstream.requests.length;
    const ok = await post(gw, { model: 'gpt-up', messages: [{ role: 'user', content: 'no call' }] }, { path: '/v1/messages/count_tokens' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(upstream.requests.length, before, 'an estimate calls no upstream');
    const unknown = await post(gw, { model: 'nope', messages: [{ role: 'user', content: 'x' }] }, { path: '/v1/messages/count_tokens' });
    assertAnthropicError(unknown, { status: 404, type: 'not_found_error' });
    const noModel = await post(gw, { messages: [{ role: 'user', content: 'x' }] }, { path: '/v1/messages/count_tokens' });
    assert.match(assertAnthropicError(noModel, { status: 400, type: 'invalid_request_error' }).message, /^model: /);
    const noMessages = await post(gw, { model: 'claude-mock' }, { path: '/v1/messages/count_tokens' });
    assertAnthropicError(noMessages, { status: 400, type: 'invalid_request_error' });
  });
});

describe('/v1/messages spans', { timeout: 60_000 }, () => {
  let receiver;
  let gw;

  before(async () => {
    ({ receiver, gw } = await startTracedGateway({
      config: { model_list: [mockModel('claude-mock')], general_settings: { master_key: MASTER_KEY } },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it('names the SERVER span after the route and records the gen_ai attributes', async () => {
    const ua = uniqueUa('messages');
    const r = await post(gw, { model: 'claude-mock', max_tokens: 33, messages: [{ role: 'user', content: 'span me' }] }, {
      headers: { ...apiKey(), 'user-agent': ua },
    });
    assert.equal(r.status, 200, r.text);
    const { server, clients } = await requestSpans(receiver, ua);
    assert.equal(server.name, 'POST /v1/messages', describeSpan(server));
    assert.equal(server.kind, SpanKind.SERVER);
    assertAttr(server, 'url.path', '/v1/messages', 'string');
    assertAttr(server, 'http.response.status_code', 200, 'int');
    assertAttr(server, 'gen_ai.operation.name', 'chat', 'string');
    assertAttr(server, 'gen_ai.request.model', 'claude-mock', 'string');
    assertAttr(server, 'gen_ai.request.max_tokens', 33, 'int');
    assertAttr(server, 'gen_ai.provider.name', 'mock', 'string');
    assertAttr(server, 'gen_ai.usage.input_tokens', r.json.usage.input_tokens, 'int');
    assertAttr(server, 'gen_ai.usage.output_tokens', r.json.usage.output_tokens, 'int');
    assert.equal(clients.length, 1, 'one attempt');

    const countUa = uniqueUa('count');
    const c = await post(gw, { model: 'claude-mock', messages: [{ role: 'user', content: 'count' }] }, {
      path: '/v1/messages/count_tokens',
      headers: { ...apiKey(), 'user-agent': countUa },
    });
    assert.equal(c.status, 200, c.text);
    const counted = await requestSpans(receiver, countUa, { minChildren: 0 });
    assert.equal(counted.server.name, 'POST /v1/messages/count_tokens', describeSpan(counted.server));
    assertAttr(counted.server, 'gen_ai.request.model', 'claude-mock', 'string');
    assertAttr(counted.server, 'gen_ai.provider.name', 'mock', 'string');
    assertAttr(counted.server, 'switchyard.count_tokens.source', 'estimate', 'string');
  });
});
