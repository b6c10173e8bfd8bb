// End-to-end: the official openai SDK (6.x) against a running gateway.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, withTimeout, MASTER_KEY, mockModel, upstreamModel } from '../integration/lib/gateway.mjs';
import { startMockUpstream } from '../integration/lib/mock_upstream.mjs';

describe('openai SDK against switchyard', { timeout: 90_000 }, () => {
  let gw;
  let upstream;
  let client;
  const newClient = (apiKey) => new OpenAI({ apiKey, baseURL: gw.baseURL, maxRetries: 0, timeout: 10_000 });

  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          upstreamModel('up', 'ok', upstream.apiBase),
          upstreamModel('up-gated', 'stream-gated', upstream.apiBase, { stream_timeout: 10 }),
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    });
    client = newClient(MASTER_KEY);
  });
  after(async () => {
    upstream?.release();
    await gw?.stop();
    await upstream?.close();
  });

  it('chat.completions.create', { timeout: 15_000 }, async () => {
    const c = await client.chat.completions.create({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'Hello from the SDK, heron-12' }],
    });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'claude-haiku');
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.ok(c.choices[0].message.content.includes('Hello from the SDK, heron-12'), c.choices[0].message.content);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    assert.equal(typeof c._request_id, 'string', 'the SDK picks up x-request-id');
    assert.ok(c._request_id.length > 0);
  });

  it('chat.completions.create with stream: true', { timeout: 15_000 }, async () => {
    const messages = [{ role: 'user', content: 'Stream a sentence about herons and egrets' }];
    const whole = await client.chat.completions.create({ model: 'claude-haiku', messages });
    const stream = await client.chat.completions.create({ model: 'claude-haiku', messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    for (const ch of chunks) {
      assert.equal(ch.object, 'chat.completion.chunk');
      assert.equal(ch.model, 'claude-haiku');
    }
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.map((ch) => ch.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  });

  it("the SDK's chat.completions.stream() helper assembles the final completion", { timeout: 15_000 }, async () => {
    const messages = [{ role: 'user', content: 'assemble me, kingfisher-3' }];
    const whole = await client.chat.completions.create({ model: 'claude-haiku', messages });
    const runner = client.chat.completions.stream({ model: 'claude-haiku', messages });
    const deltas = [];
    runner.on('content', (delta) => deltas.push(delta));
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(deltas.join(''), whole.choices[0].message.content);

    const viaUpstream = await client.chat.completions.stream({ model: 'up', messages }).finalChatCompletion();
    assert.equal(viaUpstream.choices[0].message.content, 'upstream echo: assemble me, kingfisher-3');
    assert.equal(viaUpstream.model, 'up');
  });

  it('withResponse() exposes the gateway headers', { timeout: 15_000 }, async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'claude-haiku', messages: [{ role: 'user', content: 'headers' }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.ok(response.headers.get('x-request-id'));
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  });

  it('embeddings through an openai/ deployment (base64 passed through and decoded by the SDK)', { timeout: 15_000 }, async () => {
    const e = await client.embeddings.create({ model: 'up', input: ['alpha', 'beta'] });
    assert.equal(upstream.requests.at(-1).body.encoding_format, 'base64');
    assert.equal(e.data.length, 2);
    for (const d of e.data) {
      assert.equal(d.embedding.length, 8);
      for (const x of d.embedding) assert.ok(Number.isFinite(x) && Math.abs(x) <= 1);
    }
  });

  it('stream with include_usage ends with a usage chunk', { timeout: 15_000 }, async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'usage' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.prompt_tokens > 0 && last.usage.completion_tokens > 0);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  });

  it('models.list', { timeout: 15_000 }, async () => {
    const ids = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    assert.deepEqual(ids.sort(), ['claude-haiku', 'up', 'up-gated']);
    const one = await client.models.retrieve('claude-haiku');
    assert.equal(one.id, 'claude-haiku');
  });

  it('embeddings.create (the SDK asks for base64 and decodes it)', { timeout: 15_000 }, async () => {
    const e = await client.embeddings.create({ model: 'claude-haiku', input: ['heron', 'egret'] });
    assert.equal(e.object, 'list');
    assert.equal(e.data.length, 2);
    for (const d of e.data) {
      assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0, `embedding: ${JSON.stringify(d.embedding)}`);
      for (const x of d.embedding) assert.ok(typeof x === 'number' && Number.isFinite(x));
    }
    // the same vectors as the float encoding
    const f = await client.embeddings.create({ model: 'claude-haiku', input: ['heron', 'egret'], encoding_format: 'float' });
    for (let i = 0; i < 2; i++) {
      assert.equal(e.data[i].embedding.length, f.data[i].embedding.length);
      e.data[i].embedding.forEach((x, j) => {
        const y = f.data[i].embedding[j];
        assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `dim ${j}: ${x} vs ${y}`);
      });
    }
  });

  it('completions.create', { timeout: 15_000 }, async () => {
    const c = await client.completions.create({ model: 'claude-haiku', prompt: 'Say hi' });
    assert.equal(c.object, 'text_completion');
    assert.equal(typeof c.choices[0].text, 'string');
  });

  it('a bad key throws OpenAI.AuthenticationError', { timeout: 15_000 }, async () => {
    const bad = newClient('sk-definitely-wrong');
    await assert.rejects(
      bad.chat.completions.create({ model: 'claude-haiku', messages: [{ role: 'user', content: 'x' }] }),
      (e) => {
        assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.status, 401);
        assert.equal(e.code, 'invalid_api_key');
        assert.equal(e.type, 'authentication_error');
        return true;
      },
    );
  });

  it('an unknown model throws OpenAI.BadRequestError with code model_not_found', { timeout: 15_000 }, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, `got ${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, 'model_not_found');
        assert.equal(e.param, 'model');
        return true;
      },
    );
  });

  it('chat through an openai/ deployment', { timeout: 15_000 }, async () => {
    const c = await client.chat.completions.create({ model: 'up', messages: [{ role: 'user', content: 'via upstream' }] });
    assert.equal(c.model, 'up');
    assert.equal(c.choices[0].message.content, 'upstream echo: via upstream');
    assert.equal(upstream.requests.at(-1).body.model, 'ok');
  });

  it('streaming through an openai/ deployment: chunk 1 reaches the SDK before the upstream finishes', { timeout: 20_000 }, async (t) => {
    t.after(() => upstream.release());
    const stream = await client.chat.completions.create({
      model: 'up-gated',
      messages: [{ role: 'user', content: 'gate' }],
      stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    const first = await withTimeout(it.next(), 5000, 'first chunk while the upstream is gated');
    assert.equal(first.done, false);
    assert.equal(first.value.model, 'up-gated');
    assert.equal(first.value.choices[0].delta.content, 'gated-first ');
    assert.equal(upstream.gatedWaiting, 1, 'the upstream is still holding the rest');
    assert.equal(upstream.requestsFor('stream-gated').at(-1).releasedAt, undefined);
    upstream.release();
    const texts = [first.value.choices[0].delta.content];
    for (;;) {
      const n = await withTimeout(it.next(), 5000, 'next chunk');
      if (n.done) break;
      texts.push(n.value.choices[0]?.delta?.content ?? '');
    }
    assert.equal(texts.join(''), 'gated-first gated-second gated-third');
  });
});
