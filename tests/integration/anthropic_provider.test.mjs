// The anthropic/ provider end to end: the gateway's /v1/chat/completions (fetch and the openai SDK) against an
// `anthropic/claude-3-5-haiku-20241022` deployment whose api_base is a loopback Anthropic stand-in
// (lib/anthropic_upstream.mjs, which checks the headers and the shape of every Messages request): whole answers,
// streams, tool calls (whole and streamed, and the follow-up turn with tool results), usage with cache counts and
// include_usage, error mapping with Retry-After, the API key kept out of every response and of stderr, and the
// spans' provider and token attributes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  startGateway,
  request,
  postStream,
  classifyChatEvents,
  assertOpenAIError,
  assertNoSecrets,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startAnthropicUpstream, anthropicUsage, ANTHROPIC_VERSION, STANDIN_MODEL } from './lib/anthropic_upstream.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, assertNoSecretsInSpans, SpanKind } from './lib/tracing.mjs';

const ANT_KEY = 'sk-ant-api03-SECRET-standin-5c1f9e';
const SECRETS = [ANT_KEY, 'SECRET-standin-5c1f9e'];
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather in a given location',
    parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
  },
};

const config = (upstream, extra = {}) => ({
  model_list: [
    {
      model_name: 'claude-haiku',
      litellm_params: { model: `anthropic/${STANDIN_MODEL}`, api_base: upstream.apiBase, api_key: ANT_KEY, ...extra },
    },
    {
      model_name: 'claude-wrong-key',
      litellm_params: { model: `anthropic/${STANDIN_MODEL}`, api_base: upstream.apiBase, api_key: 'sk-ant-not-the-key' },
    },
  ],
  general_settings: { master_key: MASTER_KEY },
  // Error mapping is under test: one attempt, and no deployment cools down between tests.
  router_settings: { num_retries: 0, disable_cooldowns: true },
});

/** The expected OpenAI usage for a stand-in answer. */
function openaiUsage(text, answer) {
  const u = anthropicUsage(text, answer);
  const prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
  return { prompt_tokens: prompt, completion_tokens: u.output_tokens, total_tokens: prompt + u.output_tokens, prompt_tokens_details: { cached_tokens: 3 } };
}

/** Rebuilds the tool calls of a streamed answer from its deltas. */
function collectToolCalls(chunks) {
  const calls = [];
  for (const c of chunks) {
    for (const d of c.choices?.[0]?.delta?.tool_calls ?? []) {
      const call = (calls[d.index] ??= { id: undefined, type: undefined, name: '', arguments: '' });
      if (d.id) call.id = d.id;
      if (d.type) call.type = d.type;
      if (d.function?.name) call.name += d.function.name;
      if (d.function?.arguments) call.arguments += d.function.arguments;
    }
  }
  return calls;
}

describe('anthropic provider', { timeout: 60_000 }, () => {
  let upstream;
  let gw;
  let client;
  const seen = []; // every response the client got, for the secret check
  const chat = async (json, opts = {}) => {
    const r = await request(gw, '/v1/chat/completions', { key: MASTER_KEY, json, ...opts });
    seen.push(`${r.status} ${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${r.text}`);
    return r;
  };
  const stream = async (json) => {
    const { res, sse } = await postStream(gw, '/v1/chat/completions', { stream: true, ...json }, { key: MASTER_KEY });
    const events = await sse.all(8000);
    seen.push(`${res.status}\n${events.map((e) => e.data).join('\n')}`);
    return { res, events, ...classifyChatEvents(events) };
  };

  before(async () => {
    upstream = await startAnthropicUpstream({ apiKey: ANT_KEY });
    gw = await startGateway({ config: config(upstream) });
    client = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.baseURL, maxRetries: 0, timeout: 10_000 });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('non-stream: translated request, OpenAI-shaped answer with the public model and cache-aware usage', { timeout: 10_000 }, async () => {
    const text = 'tell me about herons plain-1';
    const r = await chat({
      model: 'claude-haiku',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        { role: 'user', content: text },
      ],
      temperature: 0.3,
      top_p: 0.8,
      stop: ['END'],
      user: 'user-77',
      seed: 42,
    });
    assert.equal(r.status, 200, r.text);
    const c = r.json;
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'claude-haiku');
    assert.match(c.id, /^msg_standin_\d+$/);
    assert.equal(c.choices.length, 1);
    assert.deepEqual(c.choices[0].message, { role: 'assistant', content: `Hello from Claude. You said: ${text}` });
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(c.usage, openaiUsage(text, c.choices[0].message.content));

    const rec = upstream.requestWith('plain-1');
    assert.deepEqual(rec.problems, []);
    assert.equal(rec.url, '/v1/messages');
    assert.equal(rec.headers['x-api-key'], ANT_KEY);
    assert.equal(rec.headers['anthropic-version'], ANTHROPIC_VERSION);
    assert.equal(rec.headers['anthropic-beta'], undefined, 'no anthropic-beta unless configured');
    assert.match(rec.headers['content-type'], /application\/json/);
    assert.equal(rec.headers.authorization, undefined);
    assert.deepEqual(rec.body, {
      model: STANDIN_MODEL,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in English.' },
      ],
      messages: [{ role: 'user', content: text }],
      max_tokens: 4096,
      temperature: 0.3,
      top_p: 0.8,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-77' },
    });
  });

  it('the openai SDK: create, and create with stream', { timeout: 10_000 }, async () => {
    const messages = [{ role: 'user', content: 'sdk heron sdk-2' }];
    const c = await client.chat.completions.create({ model: 'claude-haiku', messages, max_tokens: 50 });
    assert.equal(c.choices[0].message.content, 'Hello from Claude. You said: sdk heron sdk-2');
    assert.equal(upstream.requestWith('sdk-2').body.max_tokens, 50);
    const s = await client.chat.completions.create({ model: 'claude-haiku', messages, stream: true, max_completion_tokens: 60 });
    let content = '';
    let finish;
    for await (const chunk of s) {
      assert.equal(chunk.model, 'claude-haiku');
      content += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(content, c.choices[0].message.content);
    assert.equal(finish, 'stop');
  });

  it('stream: role first, text deltas, finish reason, [DONE], no usage unless asked', { timeout: 10_000 }, async () => {
    const text = 'stream about egrets stream-3';
    const { res, chunks, done, errors, content } = await stream({ model: 'claude-haiku', messages: [{ role: 'user', content: text }] });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    assert.deepEqual(errors, []);
    assert.ok(done, 'ends with [DONE]');
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(content, `Hello from Claude. You said: ${text}`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'claude-haiku');
      assert.match(c.id, /^msg_standin_\d+$/);
      assert.ok(!('usage' in c), `usage without include_usage: ${JSON.stringify(c)}`);
    }
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    const rec = upstream.requestWith('stream-3');
    assert.deepEqual(rec.problems, []);
    assert.equal(rec.body.stream, true);
    assert.equal(rec.headers.accept, 'text/event-stream');
  });

  it('stream with include_usage: a final usage chunk with no choices', { timeout: 10_000 }, async () => {
    const text = 'usage please stream-4';
    const { chunks, done, content } = await stream({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: text }],
      stream_options: { include_usage: true },
    });
    assert.ok(done);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, openaiUsage(text, content));
    assert.equal(chunks.filter((c) => c.usage).length, 1);
    assert.equal(upstream.requestWith('stream-4').body.stream_options, undefined);
  });

  it('max_tokens stop reason is finish_reason length', { timeout: 10_000 }, async () => {
    const r = await chat({ model: 'claude-haiku', messages: [{ role: 'user', content: 'long one [[max]]' }], max_tokens: 3 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].finish_reason, 'length');
  });

  it('tools, non-stream: tool_calls with JSON arguments, then the tool result turn', { timeout: 10_000 }, async () => {
    const question = { role: 'user', content: 'weather in Paris? [[tool]] tools-5' };
    const r = await chat({
      model: 'claude-haiku',
      messages: [question],
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    assert.equal(r.status, 200, r.text);
    const choice = r.json.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Let me check.');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.match(call.id, /^toolu_standin_\d+$/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris', unit: 'celsius' });

    const rec = upstream.requestWith('tools-5');
    assert.deepEqual(rec.problems, []);
    assert.deepEqual(rec.body.tools, [
      { name: 'get_weather', description: WEATHER_TOOL.function.description, input_schema: WEATHER_TOOL.function.parameters },
    ]);
    assert.deepEqual(rec.body.tool_choice, { type: 'any', disable_parallel_tool_use: true });

    // The follow-up: the assistant's tool call and the tool's answer go back as tool_use and tool_result.
    const followUp = await chat({
      model: 'claude-haiku',
      messages: [
        question,
        choice.message,
        { role: 'tool', tool_call_id: call.id, content: '18 degrees, sunny' },
        { role: 'user', content: 'so? followup-6' },
      ],
      tools: [WEATHER_TOOL],
    });
    assert.equal(followUp.status, 200, followUp.text);
    const up = upstream.requestWith('followup-6');
    assert.deepEqual(up.problems, []);
    assert.deepEqual(up.body.messages, [
      { role: 'user', content: 'weather in Paris? [[tool]] tools-5' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: call.id, name: 'get_weather', input: { location: 'Paris', unit: 'celsius' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: call.id, content: '18 degrees, sunny' },
          { type: 'text', text: 'so? followup-6' },
        ],
      },
    ]);
    assert.equal(up.body.tool_choice, undefined);
  });

  it('tools, stream: tool call deltas with id, name and arguments in pieces', { timeout: 10_000 }, async () => {
    const { chunks, done, errors, content } = await stream({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'weather? [[tool]] tools-stream-7' }],
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream_options: { include_usage: true },
    });
    assert.ok(done);
    assert.deepEqual(errors, []);
    assert.equal(content, 'Let me check.');
    const calls = collectToolCalls(chunks);
    assert.equal(calls.length, 1);
    assert.match(calls[0].id, /^toolu_standin_\d+$/);
    assert.equal(calls[0].type, 'function');
    assert.equal(calls[0].name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].arguments), { location: 'Paris', unit: 'celsius' });
    const argPieces = chunks.filter((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments);
    assert.ok(argPieces.length >= 3, 'arguments arrive in pieces, as they are streamed');
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    assert.ok(chunks.at(-1).usage, 'usage chunk last');
    assert.deepEqual(upstream.requestWith('tools-stream-7').body.tool_choice, { type: 'tool', name: 'get_weather' });
  });

  it('images: https URLs and base64 data URLs', { timeout: 10_000 }, async () => {
    const r = await chat({
      model: 'claude-haiku',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this? images-8' },
            { type: 'image_url', image_url: { url: 'https://example.com/heron.jpg' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const rec = upstream.requestWith('images-8');
    assert.deepEqual(rec.problems, []);
    assert.deepEqual(rec.body.messages[0].content.slice(1), [
      { type: 'image', source: { type: 'url', url: 'https://example.com/heron.jpg' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
  });

  describe('errors', () => {
    const ask = (marker, extra = {}) => chat({ model: 'claude-haiku', messages: [{ role: 'user', content: `hi ${marker}` }], ...extra });

    it('429 rate_limit_error keeps Retry-After', { timeout: 10_000 }, async () => {
      const r = await ask('[[status-429]]');
      assertOpenAIError(r, { status: 429, type: 'rate_limit_error' });
      assert.equal(r.headers.get('retry-after'), '9');
      assert.match(r.json.error.message, /rate limit/);
    });

    it('529 overloaded_error is 503 api_error code overloaded', { timeout: 10_000 }, async () => {
      assertOpenAIError(await ask('[[status-529]]'), { status: 503, type: 'api_error', code: 'overloaded' });
    });

    it('500 api_error stays 500', { timeout: 10_000 }, async () => {
      assertOpenAIError(await ask('[[status-500]]'), { status: 500, type: 'api_error' });
    });

    it('400 prompt is too long is context_length_exceeded', { timeout: 10_000 }, async () => {
      const e = assertOpenAIError(await ask('[[too-long]]'), { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' });
      assert.match(e.message, /prompt is too long/);
    });

    it('401 from a wrong key, and a message quoting the key is scrubbed', { timeout: 10_000 }, async () => {
      const wrong = await chat({ model: 'claude-wrong-key', messages: [{ role: 'user', content: 'hi' }] });
      assertOpenAIError(wrong, { status: 401, type: 'authentication_error' });
      const leak = await ask('[[leak]]');
      const e = assertOpenAIError(leak, { status: 401, type: 'authentication_error' });
      assert.match(e.message, /\[redacted\]/);
      assertNoSecrets(leak.text, SECRETS, 'the 401 body');
    });

    it('what Anthropic cannot do is a 400 before any upstream call', { timeout: 10_000 }, async () => {
      const before = upstream.requests.length;
      assertOpenAIError(await ask('n-two', { n: 2 }), { status: 400, type: 'invalid_request_error', param: 'n' });
      assertOpenAIError(await ask('json', { response_format: { type: 'json_object' } }), { status: 400, param: 'response_format' });
      assertOpenAIError(
        await ask('schema', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } }),
        { status: 400, param: 'response_format' },
      );
      const badArgs = await chat({
        model: 'claude-haiku',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{not json' } }] },
          { role: 'tool', tool_call_id: 't1', content: 'r' },
        ],
      });
      assertOpenAIError(badArgs, { status: 400, param: 'messages[1].tool_calls[0].function.arguments' });
      assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
    });

    it('an error event mid-stream ends the stream with an error', { timeout: 10_000 }, async () => {
      const { res, chunks, errors, done } = await stream({ model: 'claude-haiku', messages: [{ role: 'user', content: 'hi [[stream-error]]' }] });
      assert.equal(res.status, 200);
      assert.equal(chunks.length, 1, 'the text before the error reached the client');
      assert.equal(chunks[0].choices[0].delta.content, 'Hello ');
      assert.equal(errors.length, 1);
      assert.equal(errors[0].code, 'overloaded');
      assert.ok(!done, 'no [DONE] after an error');
    });

    it('a stream request that fails before any chunk is a plain error response', { timeout: 10_000 }, async () => {
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model: 'claude-haiku', stream: true, messages: [{ role: 'user', content: 'hi [[status-429]]' }] },
        { key: MASTER_KEY },
      );
      const text = await res.text();
      seen.push(text);
      assertOpenAIError({ status: res.status, headers: res.headers, text, json: JSON.parse(text) }, { status: 429, type: 'rate_limit_error' });
      assert.equal(res.headers.get('retry-after'), '9');
      await sse.cancel();
    });
  });

  it('the key never reaches a client, and never stderr', { timeout: 20_000 }, async () => {
    assert.ok(seen.length >= 15, `${seen.length} responses recorded`);
    assertNoSecrets(seen.join('\n'), SECRETS, 'responses');
    const exit = await gw.stop();
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    assertNoSecrets(gw.stderr + gw.stdout, SECRETS, 'gateway output');
  });
});

describe('anthropic provider: configured version, beta and max_tokens default', { timeout: 30_000 }, () => {
  let upstream;
  let gw;
  before(async () => {
    upstream = await startAnthropicUpstream({ apiKey: ANT_KEY });
    gw = await startGateway({ config: config(upstream, { anthropic_beta: ['prompt-caching-2024-07-31', 'token-efficient-tools-2025-02-19'], default_max_tokens: 512 }) });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('sends anthropic-beta and the configured default max_tokens', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      json: { model: 'claude-haiku', messages: [{ role: 'user', content: 'beta-9' }] },
    });
    assert.equal(r.status, 200, r.text);
    const rec = upstream.requestWith('beta-9');
    assert.equal(rec.headers['anthropic-beta'], 'prompt-caching-2024-07-31,token-efficient-tools-2025-02-19');
    assert.equal(rec.headers['anthropic-version'], ANTHROPIC_VERSION);
    assert.equal(rec.body.max_tokens, 512);
  });
});

describe('anthropic provider: spans', { timeout: 30_000 }, () => {
  let upstream;
  let receiver;
  let gw;
  before(async () => {
    upstream = await startAnthropicUpstream({ apiKey: ANT_KEY });
    ({ receiver, gw } = await startTracedGateway({ protocol: 'http/json', config: config(upstream) }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  for (const streamed of [false, true]) {
    it(`${streamed ? 'stream' : 'non-stream'}: llm.provider anthropic, token counts, response id and finish reason`, { timeout: 10_000 }, async () => {
      const ua = uniqueUa(streamed ? 'ant-stream' : 'ant');
      const text = `spans heron ${streamed ? 'streamed' : 'whole'}`;
      const json = { model: 'claude-haiku', messages: [{ role: 'user', content: text }], max_tokens: 100 };
      let id;
      let answer;
      if (streamed) {
        const { res, sse } = await postStream(gw, '/v1/chat/completions', { ...json, stream: true }, { key: MASTER_KEY, headers: { 'user-agent': ua } });
        assert.equal(res.status, 200);
        const { chunks, content, done } = classifyChatEvents(await sse.all(8000));
        assert.ok(done);
        id = chunks[0].id;
        answer = content;
      } else {
        const r = await request(gw, '/v1/chat/completions', { key: MASTER_KEY, json, headers: { 'user-agent': ua } });
        assert.equal(r.status, 200, r.text);
        id = r.json.id;
        answer = r.json.choices[0].message.content;
      }
      const usage = openaiUsage(text, answer);
      const { server, clients } = await requestSpans(receiver, ua);
      assertAttr(server, 'llm.provider', 'anthropic', 'string');
      assertAttr(server, 'gen_ai.provider.name', 'anthropic', 'string');
      assertAttr(server, 'llm.model', STANDIN_MODEL, 'string');
      assertAttr(server, 'gen_ai.request.model', 'claude-haiku', 'string');
      assertAttr(server, 'gen_ai.usage.input_tokens', usage.prompt_tokens, 'int');
      assertAttr(server, 'gen_ai.usage.output_tokens', usage.completion_tokens, 'int');
      assertAttr(server, 'llm.tokens.prompt', usage.prompt_tokens, 'int');
      assertAttr(server, 'llm.tokens.completion', usage.completion_tokens, 'int');
      assertAttr(server, 'gen_ai.response.id', id, 'string');
      assertAttr(server, 'gen_ai.response.model', STANDIN_MODEL, 'string');
      assertAttr(server, 'gen_ai.response.finish_reasons', ['stop'], 'array');
      assert.equal(clients.length, 1);
      const client = clients[0];
      assert.equal(client.kind, SpanKind.CLIENT);
      assert.equal(client.name, `chat ${STANDIN_MODEL}`);
      assertAttr(client, 'gen_ai.provider.name', 'anthropic', 'string');
      assertAttr(client, 'server.address', '127.0.0.1', 'string');
      assertAttr(client, 'server.port', upstream.port, 'int');
      assertAttr(client, 'http.response.status_code', 200, 'int');
      assertAttr(client, 'gen_ai.usage.input_tokens', usage.prompt_tokens, 'int');
      assertNoSecretsInSpans(receiver.spans(), [...SECRETS, MASTER_KEY]);
      // The upstream request carries the CLIENT span's trace context.
      const rec = upstream.requestWith(text);
      assert.ok(String(rec.headers.traceparent).includes(client.spanId), `traceparent ${rec.headers.traceparent}`);
    });
  }

  it('an upstream error: the attempt span records the status and error type', { timeout: 10_000 }, async () => {
    const ua = uniqueUa('ant-529');
    const r = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      json: { model: 'claude-haiku', messages: [{ role: 'user', content: 'hi [[status-529]]' }] },
      headers: { 'user-agent': ua },
    });
    assert.equal(r.status, 503);
    const { clients } = await requestSpans(receiver, ua);
    assert.equal(clients.length, 1);
    assertAttr(clients[0], 'http.response.status_code', 529, 'int');
    assertAttr(clients[0], 'error.type', 'overloaded', 'string');
  });
});
