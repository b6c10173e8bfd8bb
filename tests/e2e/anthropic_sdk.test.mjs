// End-to-end: the official Anthropic SDK (@anthropic-ai/sdk) against a running gateway, answered by a mock
// deployment and by an OpenAI-compatible upstream through `/v1/messages`: messages.create, the messages.stream()
// helper (text and tool use, final message and usage), raw streams, countTokens, Bearer auth tokens, and errors
// surfacing as the SDK's typed errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, MASTER_KEY, mockModel, upstreamModel } from '../integration/lib/gateway.mjs';
import { startMockUpstream } from '../integration/lib/mock_upstream.mjs';

const MOCK_ECHO = 'This is a mock response from Switchyard. You said: ';

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('@anthropic-ai/sdk against switchyard', { timeout: 90_000 }, () => {
  let gw;
  let upstream;
  let client;
  const newClient = (options) => new Anthropic({ baseURL: gw.origin, maxRetries: 0, timeout: 10_000, ...options });

  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          upstreamModel('gpt-up', 'ok', upstream.apiBase),
          upstreamModel('gpt-tools', 'tool-call', upstream.apiBase),
          upstreamModel('gpt-fail-mid', 'stream-fail-after-1', upstream.apiBase),
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0 },
      },
    });
    client = newClient({ apiKey: MASTER_KEY, authToken: null });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('messages.create', { timeout: 15_000 }, async () => {
    const m = await client.messages.create({
      model: 'claude-haiku',
      max_tokens: 256,
      system: 'You are a mock.',
      messages: [{ role: 'user', content: 'Hello from the SDK, avocet-9' }],
    });
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'claude-haiku');
    assert.match(m.id, /^msg_/);
    assert.deepEqual(m.content, [{ type: 'text', text: MOCK_ECHO + 'Hello from the SDK, avocet-9' }]);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.stop_sequence, null);
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
    assert.equal(typeof m._request_id, 'string', 'the SDK picks up request-id');
    assert.ok(m._request_id.length > 0);
  });

  it('messages.create through an OpenAI-compatible upstream', { timeout: 15_000 }, async () => {
    const { data, response } = await client.messages
      .create({ model: 'gpt-up', max_tokens: 64, messages: [{ role: 'user', content: 'via upstream' }] })
      .withResponse();
    assert.equal(data.model, 'gpt-up');
    assert.equal(data.content[0].text, 'upstream echo: via upstream');
    assert.equal(upstream.requests.at(-1).body.model, 'ok');
    assert.equal(upstream.requests.at(-1).body.max_tokens, 64);
    assert.equal(response.headers.get('x-litellm-model-group'), 'gpt-up');
  });

  it('messages.stream() assembles the final message and its usage', { timeout: 15_000 }, async () => {
    const params = { model: 'claude-haiku', max_tokens: 128, messages: [{ role: 'user', content: 'stream a line about curlews' }] };
    const whole = await client.messages.create(params);
    const stream = client.messages.stream(params);
    const deltas = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    assert.ok(deltas.length > 3, `only ${deltas.length} text deltas`);
    assert.equal(deltas.join(''), whole.content[0].text);
    assert.equal(await stream.finalText(), whole.content[0].text);
    assert.deepEqual(final.content, whole.content);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.model, 'claude-haiku');
    assert.equal(final.usage.input_tokens, whole.usage.input_tokens, 'message_delta carries the input tokens');
    assert.equal(final.usage.output_tokens, whole.usage.output_tokens);
  });

  it('messages.stream() with tool use through an OpenAI-compatible upstream', { timeout: 15_000 }, async () => {
    const stream = client.messages.stream({
      model: 'gpt-tools',
      max_tokens: 128,
      tools: [weatherTool],
      tool_choice: { type: 'auto' },
      messages: [{ role: 'user', content: 'weather in Faro' }],
    });
    const jsonPieces = [];
    stream.on('inputJson', (piece) => jsonPieces.push(piece));
    const final = await stream.finalMessage();
    const n = upstream.requests.at(-1).n;
    assert.deepEqual(final.content, [
      { type: 'text', text: 'Calling get_weather.' },
      { type: 'tool_use', id: `call_up_${n}`, name: 'get_weather', input: { echo: 'weather in Faro' } },
    ]);
    assert.equal(jsonPieces.join(''), JSON.stringify({ echo: 'weather in Faro' }));
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.usage.cache_read_input_tokens, 4);
    assert.ok(final.usage.input_tokens > 0 && final.usage.output_tokens > 0, JSON.stringify(final.usage));

    // The tool result goes back in the next turn, and the conversation goes on.
    const toolUse = final.content[1];
    const next = await client.messages.create({
      model: 'gpt-up',
      max_tokens: 64,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Faro' },
        { role: 'assistant', content: final.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: toolUse.id, content: '24C, breezy' },
            { type: 'text', text: 'summarise it' },
          ],
        },
      ],
    });
    assert.equal(next.content[0].text, 'upstream echo: summarise it');
    const sent = upstream.requests.at(-1).body.messages;
    assert.deepEqual(sent[2], { role: 'tool', tool_call_id: toolUse.id, content: '24C, breezy' });
  });

  it('messages.create with stream: true yields the raw events', { timeout: 15_000 }, async () => {
    const stream = await client.messages.create({
      model: 'claude-haiku',
      max_tokens: 32,
      stream: true,
      messages: [{ role: 'user', content: 'raw events' }],
    });
    const types = [];
    for await (const event of stream) types.push(event.type);
    assert.equal(types[0], 'message_start');
    assert.equal(types[1], 'content_block_start');
    assert.ok(types.includes('content_block_delta'));
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  });

  it('messages.countTokens answers an estimate for a mock deployment', { timeout: 15_000 }, async () => {
    const counted = await client.messages.countTokens({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'count these words please' }],
    });
    assert.deepEqual(counted, { input_tokens: 10 });
    const withTools = await client.messages.countTokens({
      model: 'claude-haiku',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'count these words please' }],
    });
    assert.ok(withTools.input_tokens > counted.input_tokens, JSON.stringify(withTools));
  });

  it('an auth token is sent as Authorization: Bearer', { timeout: 15_000 }, async () => {
    const bearer = newClient({ apiKey: null, authToken: MASTER_KEY });
    const m = await bearer.messages.create({ model: 'claude-haiku', max_tokens: 16, messages: [{ role: 'user', content: 'bearer' }] });
    assert.equal(m.content[0].text, MOCK_ECHO + 'bearer');
  });

  it('a bad key throws Anthropic.AuthenticationError', { timeout: 15_000 }, async () => {
    const bad = newClient({ apiKey: 'sk-definitely-wrong', authToken: null });
    await assert.rejects(
      bad.messages.create({ model: 'claude-haiku', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
      (e) => {
        assert.ok(e instanceof Anthropic.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.status, 401);
        assert.equal(e.type, 'authentication_error');
        assert.ok(e.requestID, 'request-id reaches the error');
        return true;
      },
    );
  });

  it('an unknown model throws Anthropic.NotFoundError; a missing max_tokens Anthropic.BadRequestError', { timeout: 15_000 }, async () => {
    await assert.rejects(
      client.messages.create({ model: 'no-such-model', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
      (e) => {
        assert.ok(e instanceof Anthropic.NotFoundError, `got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.type, 'not_found_error');
        assert.match(e.apiMessage, /no-such-model/);
        return true;
      },
    );
    await assert.rejects(client.messages.create({ model: 'claude-haiku', messages: [{ role: 'user', content: 'x' }] }), (e) => {
      assert.ok(e instanceof Anthropic.BadRequestError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.apiMessage, 'max_tokens: Field required');
      return true;
    });
    await assert.rejects(
      client.messages.countTokens({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      Anthropic.NotFoundError,
    );
  });

  it('a stream failing mid-way throws an APIError from the iteration', { timeout: 15_000 }, async () => {
    const stream = client.messages.stream({ model: 'gpt-fail-mid', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] });
    const deltas = [];
    stream.on('text', (delta) => deltas.push(delta));
    await assert.rejects(stream.finalMessage(), (e) => {
      assert.ok(e instanceof Anthropic.APIError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.type, 'api_error');
      assert.match(e.message, /upstream stream failed/);
      return true;
    });
    assert.deepEqual(deltas, ['only-one ']);
  });
});
