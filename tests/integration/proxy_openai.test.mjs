// The openai/ provider against the mock upstream: pass-through, model rewrite, upstream auth, streaming.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  postJson,
  postStream,
  classifyChatEvents,
  assertNoSecrets,
  withTimeout,
  MASTER_KEY,
  UPSTREAM_KEY,
  upstreamModel,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

describe('openai/ provider pass-through', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  const bodies = [];
  const post = async (p, body, opts = {}) => {
    const r = await postJson(gw, p, body, { key: MASTER_KEY, ...opts });
    bodies.push(r.text);
    return r;
  };
  const lastUpstream = () => upstream.requests.at(-1);

  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          upstreamModel('up', 'ok', upstream.apiBase),
          upstreamModel('up-gated', 'stream-gated', upstream.apiBase, { stream_timeout: 10 }),
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('chat: body passed through unchanged except model, response model set back', { timeout: 10_000 }, async () => {
    const body = {
      model: 'up',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'pass me through, otter-5' },
      ],
      temperature: 0.25,
      top_p: 0.9,
      max_tokens: 17,
      n: 1,
      stop: ['\n\n', 'END'],
      seed: 1234,
      user: 'user-abc',
      presence_penalty: 0.1,
      frequency_penalty: -0.2,
      logit_bias: { 50256: -100 },
      response_format: { type: 'json_object' },
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
      tool_choice: 'auto',
      unicode: 'grüße 東京 🚀 "quoted" \\ back\\slash',
    };
    const before = upstream.requests.length;
    const r = await post('/v1/chat/completions', body);
    assert.equal(r.status, 200, r.text);
    assert.equal(upstream.requests.length, before + 1, 'exactly one upstream request');
    const u = lastUpstream();
    assert.equal(u.method, 'POST');
    assert.equal(u.path, '/v1/chat/completions');
    assert.match(u.headers['content-type'] ?? '', /application\/json/);
    assert.deepEqual(u.body, { ...body, model: 'ok' });

    // the response is the upstream's, model set back to the public name
    const c = r.json;
    assert.equal(c.model, 'up');
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.id, `chatcmpl-up-${u.n}`);
    assert.equal(c.system_fingerprint, 'fp_mock_upstream');
    assert.equal(c.choices[0].message.content, 'upstream echo: pass me through, otter-5');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
  });

  it('upstream gets Bearer <api_key> from config, never the client key', { timeout: 10_000 }, async () => {
    const variants = [
      { authorization: `Bearer ${MASTER_KEY}` },
      { 'x-api-key': MASTER_KEY },
      { 'api-key': MASTER_KEY },
    ];
    for (const headers of variants) {
      const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'key?' }] }, { headers });
      bodies.push(r.text);
      assert.equal(r.status, 200, r.text);
      const u = lastUpstream();
      assert.equal(u.headers.authorization, `Bearer ${UPSTREAM_KEY}`, `with client headers ${Object.keys(headers)}`);
      const all = JSON.stringify(u.headers);
      assert.ok(!all.includes(MASTER_KEY), `the client's key reached the upstream: ${all}`);
    }
  });

  it('the /chat/completions alias reaches the same upstream route', { timeout: 10_000 }, async () => {
    const r = await post('/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'via alias' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(lastUpstream().path, '/v1/chat/completions');
    assert.equal(lastUpstream().body.model, 'ok');
    assert.equal(r.json.model, 'up');
    assert.equal(r.json.choices[0].message.content, 'upstream echo: via alias');
  });

  it('streaming: chunks passed through with model set back, then [DONE]', { timeout: 10_000 }, async () => {
    const body = { model: 'up', messages: [{ role: 'user', content: 'stream through' }], stream: true };
    const { res, sse } = await postStream(gw, '/v1/chat/completions', body, { key: MASTER_KEY });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await sse.all(10_000);
    const u = lastUpstream();
    assert.deepEqual(u.body, { ...body, model: 'ok' });
    assert.equal(u.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    const s = classifyChatEvents(events);
    assert.deepEqual(s.errors, []);
    assert.ok(s.done, 'no [DONE]');
    assert.equal(events.at(-1).data, '[DONE]');
    assert.equal(s.chunks.length, 5, 'role chunk, three content chunks, finish chunk');
    for (const c of s.chunks) {
      assert.equal(c.model, 'up');
      assert.equal(c.id, `chatcmpl-up-${u.n}`);
      assert.equal(c.system_fingerprint, 'fp_mock_upstream');
    }
    assert.equal(s.chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(s.content, 'upstream echo: stream through');
    assert.equal(s.chunks.at(-1).choices[0].finish_reason, 'stop');
  });

  it('streaming with include_usage: passed upstream, usage chunk passed back', { timeout: 10_000 }, async () => {
    const body = {
      model: 'up',
      messages: [{ role: 'user', content: 'usage please' }],
      stream: true,
      stream_options: { include_usage: true },
    };
    const { sse } = await postStream(gw, '/v1/chat/completions', body, { key: MASTER_KEY });
    const s = classifyChatEvents(await sse.all(10_000));
    const u = lastUpstream();
    assert.deepEqual(u.body.stream_options, { include_usage: true });
    assert.ok(s.done);
    const last = s.chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.model, 'up');
    // the mock upstream's count: 7 + words of the prompt; words of the completion
    assert.deepEqual(last.usage, { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  });

  it('streaming is incremental: chunk 1 arrives while the upstream is still holding the rest', { timeout: 15_000 }, async (t) => {
    t.after(() => upstream.release());
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'up-gated', messages: [{ role: 'user', content: 'gate' }], stream: true },
      { key: MASTER_KEY },
    );
    assert.equal(res.status, 200);
    const first = await sse.next(5000); // the upstream has sent only one chunk and waits for release()
    assert.ok(first && first.json, `first event: ${JSON.stringify(first)}`);
    assert.equal(first.json.object, 'chat.completion.chunk');
    assert.equal(first.json.model, 'up-gated');
    assert.equal(first.json.choices[0].delta.content, 'gated-first ');
    const u = upstream.requestsFor('stream-gated').at(-1);
    assert.equal(u.releasedAt, undefined, 'the upstream had not been released yet');
    assert.equal(upstream.gatedWaiting, 1);
    assert.equal(upstream.release(), 1);
    const rest = await sse.all(5000);
    const s = classifyChatEvents([first, ...rest]);
    assert.equal(s.content, 'gated-first gated-second gated-third');
    assert.ok(s.done);
    assert.ok(s.chunks.every((c) => c.model === 'up-gated'));
  });

  it('completions pass-through', { timeout: 10_000 }, async () => {
    const body = { model: 'up', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 };
    const r = await post('/v1/completions', body);
    assert.equal(r.status, 200, r.text);
    const u = lastUpstream();
    assert.equal(u.path, '/v1/completions');
    assert.deepEqual(u.body, { ...body, model: 'ok' });
    assert.equal(u.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.equal(r.json.object, 'text_completion');
    assert.equal(r.json.model, 'up');
    assert.equal(r.json.id, `cmpl-up-${u.n}`);
    assert.equal(r.json.choices[0].text, ' upstream completion of: Once upon a time');
  });

  it('embeddings pass-through (float and base64)', { timeout: 10_000 }, async () => {
    for (const encoding_format of ['float', 'base64']) {
      const body = { model: 'up', input: ['alpha', 'beta'], encoding_format };
      const r = await post('/v1/embeddings', body);
      assert.equal(r.status, 200, r.text);
      const u = lastUpstream();
      assert.equal(u.path, '/v1/embeddings');
      assert.deepEqual(u.body, { ...body, model: 'ok' });
      assert.equal(u.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
      assert.equal(r.json.object, 'list');
      assert.equal(r.json.model, 'up');
      assert.equal(r.json.data.length, 2);
      if (encoding_format === 'base64') assert.equal(typeof r.json.data[0].embedding, 'string');
      else assert.ok(Array.isArray(r.json.data[0].embedding));
    }
  });

  it('concurrent requests each get their own answer', { timeout: 15_000 }, async () => {
    const n = 16;
    const rs = await withTimeout(
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          post('/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: `parallel-${i}` }] }),
        ),
      ),
      10_000,
      'concurrent requests',
    );
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, `upstream echo: parallel-${i}`);
    });
  });

  it('neither key appears in a response body or in stderr', { timeout: 10_000 }, async () => {
    assertNoSecrets(bodies.join('\n'), [MASTER_KEY, UPSTREAM_KEY], 'response bodies');
    assertNoSecrets(gw.stderr + gw.stdout, [MASTER_KEY, UPSTREAM_KEY], 'gateway output');
  });
});
