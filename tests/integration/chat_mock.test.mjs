// The built-in mock provider: chat (non-stream, stream, include_usage), completions, embeddings, mock_response.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  closedPort,
  postJson,
  postStream,
  classifyChatEvents,
  MASTER_KEY,
  mockModel,
  upstreamModel,
} from './lib/gateway.mjs';

function assertUsage(usage, where = '') {
  assert.ok(usage && typeof usage === 'object', `usage missing ${where}`);
  assert.ok(Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, `prompt_tokens ${where}: ${JSON.stringify(usage)}`);
  assert.ok(
    Number.isInteger(usage.completion_tokens) && usage.completion_tokens > 0,
    `completion_tokens ${where}: ${JSON.stringify(usage)}`,
  );
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, `total_tokens ${where}`);
}

function decodeBase64Floats(b64) {
  const buf = Buffer.from(b64, 'base64');
  assert.equal(buf.length % 4, 0, 'base64 embedding length is a multiple of 4 bytes');
  const out = [];
  for (let i = 0; i < buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

describe('mock provider', { timeout: 60_000 }, () => {
  let gw;
  const chat = (body, opts) => postJson(gw, '/v1/chat/completions', body, { key: MASTER_KEY, ...opts });
  const stream = (body) => postStream(gw, '/v1/chat/completions', body, { key: MASTER_KEY });

  before(async () => {
    const port = await closedPort();
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          mockModel('fixed', { mock_response: 'fixed reply from config' }),
          // mock_response on an openai/ deployment: answered by the mock provider, the closed port is never dialled
          upstreamModel('canned', 'gpt-4o', `http://127.0.0.1:${port}/v1`, { mock_response: 'canned answer' }),
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('chat completion echoes the last user message', { timeout: 10_000 }, async () => {
    const r = await chat({ model: 'claude-haiku', messages: [{ role: 'user', content: 'hello mock zebra-42' }] });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.ok(r.headers.get('x-request-id'));
    const c = r.json;
    assert.equal(c.object, 'chat.completion');
    assert.equal(typeof c.id, 'string');
    assert.ok(c.id.length > 0);
    assert.equal(typeof c.created, 'number');
    assert.equal(c.model, 'claude-haiku');
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(typeof c.choices[0].message.content, 'string');
    assert.ok(c.choices[0].message.content.includes('hello mock zebra-42'), c.choices[0].message.content);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assertUsage(c.usage);
  });

  it('the reply follows the last user message of a conversation', { timeout: 10_000 }, async () => {
    const r = await chat({
      model: 'claude-haiku',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first question apple' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question banana-77' },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const content = r.json.choices[0].message.content;
    assert.ok(content.includes('second question banana-77'), content);
  });

  it('content given as text parts is echoed too', { timeout: 10_000 }, async () => {
    const r = await chat({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'parted kiwi-9' }] }],
    });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.choices[0].message.content.includes('parted kiwi-9'), r.json.choices[0].message.content);
  });

  it('replies are deterministic', { timeout: 10_000 }, async () => {
    const body = { model: 'claude-haiku', messages: [{ role: 'user', content: 'same input twice' }] };
    const a = await chat(body);
    const b = await chat(body);
    assert.equal(a.json.choices[0].message.content, b.json.choices[0].message.content);
    assert.deepEqual(a.json.usage, b.json.usage);
  });

  it('the /chat/completions alias works', { timeout: 10_000 }, async () => {
    const r = await postJson(
      gw,
      '/chat/completions',
      { model: 'claude-haiku', messages: [{ role: 'user', content: 'alias route' }] },
      { key: MASTER_KEY },
    );
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.choices[0].message.content.includes('alias route'));
  });

  it('streaming: several chunks whose deltas add up to the non-stream content, then [DONE]', { timeout: 10_000 }, async () => {
    const messages = [{ role: 'user', content: 'stream me a reply about rivers and lakes' }];
    const whole = await chat({ model: 'claude-haiku', messages });
    assert.equal(whole.status, 200, whole.text);
    const expected = whole.json.choices[0].message.content;

    const { res, sse } = await stream({ model: 'claude-haiku', messages, stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.ok(res.headers.get('x-request-id'), 'x-request-id on a stream');
    const events = await sse.all(10_000);
    assert.equal(sse.error, null, `stream ended with a transport error: ${sse.error}`);
    const s = classifyChatEvents(events);
    assert.deepEqual(s.errors, []);
    assert.deepEqual(s.others, [], `unexpected events: ${JSON.stringify(s.others)}`);
    assert.ok(s.chunks.length >= 3, `only ${s.chunks.length} chunks`);
    assert.ok(s.done, 'no [DONE]');
    assert.equal(events.at(-1).data, '[DONE]', 'the last event is [DONE]');
    const ids = new Set(s.chunks.map((c) => c.id));
    assert.equal(ids.size, 1, 'one id for all chunks');
    for (const c of s.chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'claude-haiku');
      assert.equal(c.choices.length, 1, 'without include_usage every chunk has a choice');
    }
    assert.equal(s.chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(s.content, expected);
    assert.equal(s.chunks.at(-1).choices[0].finish_reason, 'stop');
    for (const c of s.chunks.slice(0, -1)) assert.ok(c.choices[0].finish_reason == null);
  });

  it('non-ASCII text survives echo and streaming intact', { timeout: 10_000 }, async () => {
    const text = 'grüße aus Zürich, 東京タワー, emoji 🚀🦀, math ∑∞ «quotes» ' + 'ünïcödé '.repeat(8);
    const messages = [{ role: 'user', content: text }];
    const whole = await chat({ model: 'claude-haiku', messages });
    assert.equal(whole.status, 200, whole.text);
    const content = whole.json.choices[0].message.content;
    assert.ok(content.includes(text), content);
    const { sse } = await stream({ model: 'claude-haiku', messages, stream: true });
    const events = await sse.all(10_000);
    for (const ev of events) assert.ok(!ev.data.includes('\uFFFD'), `replacement character in ${ev.data}`);
    const s = classifyChatEvents(events);
    assert.ok(s.done);
    assert.equal(s.content, content);
  });

  it('a large prompt is echoed whole (300 kB non-stream, 30 kB streamed)', { timeout: 15_000 }, async () => {
    const big = 'the quick brown fox jumps over the lazy dog '.repeat(7000); // about 300 kB
    const messages = [{ role: 'user', content: big }];
    const whole = await chat({ model: 'claude-haiku', messages });
    assert.equal(whole.status, 200, whole.text.slice(0, 300));
    assert.ok(whole.json.choices[0].message.content.includes(big));
    // streamed: a smaller one (the mock streams word by word, so this is already thousands of events)
    const medium = big.slice(0, 30_000);
    const mediumWhole = await chat({ model: 'claude-haiku', messages: [{ role: 'user', content: medium }] });
    const { sse } = await stream({ model: 'claude-haiku', messages: [{ role: 'user', content: medium }], stream: true });
    const s = classifyChatEvents(await sse.all(10_000));
    assert.ok(s.done);
    assert.equal(s.content, mediumWhole.json.choices[0].message.content);
    assert.ok(s.content.includes(medium));
  });

  it('streaming with stream_options.include_usage ends with a usage chunk', { timeout: 10_000 }, async () => {
    const { res, sse } = await stream({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'count my tokens please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    const events = await sse.all(10_000);
    const s = classifyChatEvents(events);
    assert.ok(s.done);
    assert.equal(events.at(-1).data, '[DONE]');
    const last = s.chunks.at(-1);
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    assertUsage(last.usage, 'in the usage chunk');
    const beforeLast = s.chunks.at(-2);
    assert.equal(beforeLast.choices[0].finish_reason, 'stop');
    assert.equal(s.chunks.filter((c) => c.choices.length === 0).length, 1, 'exactly one usage chunk');
    assert.ok(s.content.includes('count my tokens please'));
  });

  it('mock_response replaces the echo, non-stream and stream', { timeout: 10_000 }, async () => {
    const messages = [{ role: 'user', content: 'ignored text' }];
    const r = await chat({ model: 'fixed', messages });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'fixed reply from config');
    assert.equal(r.json.model, 'fixed');
    assertUsage(r.json.usage);

    const { sse } = await stream({ model: 'fixed', messages, stream: true });
    const s = classifyChatEvents(await sse.all(10_000));
    assert.ok(s.done);
    assert.equal(s.content, 'fixed reply from config');
  });

  it('mock_response on an openai/ deployment answers without the network', { timeout: 10_000 }, async () => {
    const r = await chat({ model: 'canned', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'canned answer');
    assert.equal(r.json.model, 'canned');
  });

  it('completions: text_completion with choices[0].text', { timeout: 10_000 }, async () => {
    const r = await postJson(gw, '/v1/completions', { model: 'claude-haiku', prompt: 'Say hello' }, { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'text_completion');
    assert.equal(r.json.model, 'claude-haiku');
    assert.equal(typeof r.json.id, 'string');
    assert.equal(r.json.choices.length, 1);
    assert.equal(typeof r.json.choices[0].text, 'string');
    assert.ok(r.json.choices[0].text.length > 0);
    assert.equal(r.json.choices[0].index, 0);
    assertUsage(r.json.usage);
  });

  it('embeddings: one deterministic vector per input', { timeout: 10_000 }, async () => {
    const r = await postJson(
      gw,
      '/v1/embeddings',
      { model: 'claude-haiku', input: ['hello', 'world', 'hello'], encoding_format: 'float' },
      { key: MASTER_KEY },
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'list');
    assert.equal(r.json.model, 'claude-haiku');
    const data = r.json.data;
    assert.equal(data.length, 3);
    data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0);
      for (const x of d.embedding) assert.ok(typeof x === 'number' && Number.isFinite(x), `not a number: ${x}`);
    });
    assert.deepEqual(data[0].embedding, data[2].embedding, 'same input, same vector');
    assert.notDeepEqual(data[0].embedding, data[1].embedding, 'different inputs, different vectors');
    assert.equal(data[0].embedding.length, data[1].embedding.length);

    // a single string input; same vector across requests
    const one = await postJson(gw, '/v1/embeddings', { model: 'claude-haiku', input: 'hello' }, { key: MASTER_KEY });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.data.length, 1);
    assert.deepEqual(one.json.data[0].embedding, data[0].embedding);
  });

  it('embeddings: encoding_format base64 is little-endian float32 of the same vector', { timeout: 10_000 }, async () => {
    const input = ['base64 please', 'another one'];
    const f = await postJson(gw, '/v1/embeddings', { model: 'claude-haiku', input, encoding_format: 'float' }, { key: MASTER_KEY });
    const b = await postJson(gw, '/v1/embeddings', { model: 'claude-haiku', input, encoding_format: 'base64' }, { key: MASTER_KEY });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.data.length, 2);
    for (let i = 0; i < 2; i++) {
      const enc = b.json.data[i].embedding;
      assert.equal(typeof enc, 'string', 'base64 embedding is a string');
      assert.match(enc, /^[A-Za-z0-9+/]+={0,2}$/);
      const decoded = decodeBase64Floats(enc);
      const floats = f.json.data[i].embedding;
      assert.equal(decoded.length, floats.length);
      decoded.forEach((x, j) => {
        assert.ok(Math.abs(x - floats[j]) <= 1e-6 * Math.max(1, Math.abs(floats[j])), `dim ${j}: ${x} vs ${floats[j]}`);
      });
    }
  });
});
