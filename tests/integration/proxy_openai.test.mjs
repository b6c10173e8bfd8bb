// The openai/ provider against the mock upstream: pass-through, model rewrite, upstream auth, streaming.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  postJson,
  postStream,
  request,
  classifyChatEvents,
  assertNoSecrets,
  withTimeout,
  waitFor,
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
          upstreamModel('up-split', 'stream-split', upstream.apiBase),
          upstreamModel('up-split-crlf', 'stream-split-crlf', upstream.apiBase),
          upstreamModel('up-coalesced', 'stream-coalesced', upstream.apiBase),
          upstreamModel('up-nospace', 'stream-nospace', upstream.apiBase),
          upstreamModel('up-chunked', 'chunked', upstream.apiBase),
          upstreamModel('up-close', 'close-after', upstream.apiBase),
          upstreamModel('up-nodone', 'stream-nodone', upstream.apiBase),
          { ...upstreamModel('up-id', 'ok', upstream.apiBase), model_info: { id: 'dep-a' } },
          {
            model_name: 'vllm',
            litellm_params: { model: 'hosted_vllm/ok', api_base: upstream.apiBase, api_key: UPSTREAM_KEY },
          },
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

  it('a deeply nested JSON schema (response_format) passes through unchanged', { timeout: 10_000 }, async () => {
    // 20 nested objects: about 45 levels of JSON nesting, as a real structured-output schema can reach
    let schema = { type: 'string' };
    for (let i = 20; i > 0; i--) schema = { type: 'object', properties: { [`level${i}`]: schema }, required: [`level${i}`] };
    const body = {
      model: 'up',
      messages: [{ role: 'user', content: 'deep schema' }],
      response_format: { type: 'json_schema', json_schema: { name: 'deep', strict: true, schema } },
    };
    const r = await post('/v1/chat/completions', body);
    assert.equal(r.status, 200, `a valid request was refused: ${r.text}`);
    assert.deepEqual(lastUpstream().body, { ...body, model: 'ok' });
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

  it("the upstream request's Host header is the api_base authority, port included", { timeout: 10_000 }, async () => {
    const r = await post('/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'host?' }] });
    assert.equal(r.status, 200, r.text);
    // RFC 9112 3.2: Host must be identical to the target URI's authority (host and port)
    assert.equal(lastUpstream().headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('the client\'s own headers (cookies, custom headers) are not forwarded upstream', { timeout: 10_000 }, async () => {
    const r = await post(
      '/v1/chat/completions',
      { model: 'up', messages: [{ role: 'user', content: 'headers' }] },
      { headers: { cookie: 'session=client-cookie', 'x-client-secret': 'client-private-value' } },
    );
    assert.equal(r.status, 200, r.text);
    const all = JSON.stringify(lastUpstream().headers);
    assert.ok(!all.includes('client-cookie') && !all.includes('client-private-value'), all);
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
    // The gateway always asks a stream's upstream for usage (traces need token counts) ...
    assert.deepEqual(u.body, { ...body, model: 'ok', stream_options: { include_usage: true } });
    assert.equal(u.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    // ... and keeps it from a client that did not ask for it.
    for (const e of events) {
      if (e.data === '[DONE]') continue;
      const chunk = JSON.parse(e.data);
      assert.ok(!('usage' in chunk), `unrequested usage reached the client: ${e.data}`);
      assert.ok(Array.isArray(chunk.choices) && chunk.choices.length > 0, `usage-only chunk reached the client: ${e.data}`);
    }
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

  for (const [model, what] of [
    ['up-split', 'in 7-byte slices (events and UTF-8 characters cut anywhere)'],
    ['up-split-crlf', 'in 7-byte slices with CRLF line ends'],
    ['up-coalesced', 'all in one write'],
    ['up-nospace', 'as "data:{...}" without a space'],
  ]) {
    it(`streaming: an upstream stream written ${what} is relayed intact`, { timeout: 10_000 }, async () => {
      const text = 'split me: grüße 東京 🚀 done';
      const { res, sse } = await postStream(
        gw,
        '/v1/chat/completions',
        { model, messages: [{ role: 'user', content: text }], stream: true, stream_options: { include_usage: true } },
        { key: MASTER_KEY },
      );
      assert.equal(res.status, 200);
      const events = await sse.all(8000);
      assert.equal(sse.error, null, `transport error: ${sse.error}`);
      for (const ev of events) assert.ok(!ev.data.includes('\uFFFD'), `replacement character in ${ev.data}`);
      const s = classifyChatEvents(events);
      assert.deepEqual(s.errors, []);
      assert.deepEqual(s.others, [], `unexpected events: ${JSON.stringify(s.others.map((e) => e.data))}`);
      assert.equal(s.chunks.length, 6, `chunks: ${JSON.stringify(events.map((e) => e.data))}`);
      assert.ok(s.chunks.every((c) => c.model === model), 'model set back on every chunk');
      assert.equal(s.content, `upstream echo: ${text}`);
      assert.deepEqual(s.chunks.at(-1).choices, []);
      assert.ok(s.done);
      assert.equal(events.at(-1).data, '[DONE]');
    });
  }

  it('a non-stream upstream answer with Transfer-Encoding: chunked is relayed', { timeout: 10_000 }, async () => {
    const r = await post('/v1/chat/completions', { model: 'up-chunked', messages: [{ role: 'user', content: 'in pieces' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'up-chunked');
    assert.equal(r.json.choices[0].message.content, 'upstream echo: in pieces');
    const c = await post('/v1/completions', { model: 'up-chunked', prompt: 'pieces' });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.choices[0].text, ' upstream completion of: pieces');
  });

  it('an upstream that closes each connection (Connection: close) is not reused', { timeout: 10_000 }, async () => {
    for (let i = 0; i < 4; i++) {
      const r = await post('/v1/chat/completions', { model: 'up-close', messages: [{ role: 'user', content: `close ${i}` }] });
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      assert.equal(r.json.choices[0].message.content, `upstream echo: close ${i}`);
    }
  });

  it('a large body and a large answer pass through intact', { timeout: 15_000 }, async () => {
    const big = 'lorem ipsum dolor sit amet '.repeat(20_000); // about 540 kB
    const r = await post('/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: big }] });
    assert.equal(r.status, 200, r.text.slice(0, 500));
    assert.equal(lastUpstream().body.messages[0].content, big);
    assert.equal(r.json.choices[0].message.content, `upstream echo: ${big}`);
    const { sse } = await postStream(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: big }], stream: true }, { key: MASTER_KEY });
    const s = classifyChatEvents(await sse.all(10_000));
    assert.ok(s.done);
    assert.equal(s.content, `upstream echo: ${big}`);
  });

  it('other OpenAI-compatible prefixes (hosted_vllm/) use the same adapter', { timeout: 10_000 }, async () => {
    const r = await post('/v1/chat/completions', { model: 'vllm', messages: [{ role: 'user', content: 'vllm' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'vllm');
    assert.equal(lastUpstream().body.model, 'ok');
    assert.equal(lastUpstream().headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('x-litellm-model-id names the deployment that answered', { timeout: 10_000 }, async () => {
    const r = await post('/v1/chat/completions', { model: 'up-id', messages: [{ role: 'user', content: 'which' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-a');
    const d = await post('/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'which' }] });
    assert.ok(d.headers.get('x-litellm-model-id'), 'a default deployment id');
  });

  it('the /completions and /embeddings aliases work', { timeout: 10_000 }, async () => {
    const c = await post('/completions', { model: 'up', prompt: 'alias' });
    assert.equal(c.status, 200, c.text);
    assert.equal(lastUpstream().path, '/v1/completions');
    const e = await post('/embeddings', { model: 'up', input: 'alias', encoding_format: 'float' });
    assert.equal(e.status, 200, e.text);
    assert.equal(lastUpstream().path, '/v1/embeddings');
  });

  it('neither key appears in a response body or in stderr', { timeout: 10_000 }, async () => {
    assertNoSecrets(bodies.join('\n'), [MASTER_KEY, UPSTREAM_KEY], 'response bodies');
    assertNoSecrets(gw.stderr + gw.stdout, [MASTER_KEY, UPSTREAM_KEY], 'gateway output');
  });

  it('a stream that ends without [DONE] or a finish_reason is cut short: the client gets an error event, not [DONE]', { timeout: 10_000 }, async () => {
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'up-nodone', stream: true, messages: [{ role: 'user', content: 'cut' }] },
      { key: MASTER_KEY },
    );
    assert.equal(res.status, 200);
    const events = classifyChatEvents(await sse.all());
    assert.match(events.content, /cut-one cut-two/);
    assert.equal(events.done, false, 'no [DONE] after a stream that was cut short');
    assert.equal(events.errors.length, 1);
    assert.equal(events.errors[0].code, 'upstream_error');
  });
});

describe('pooled upstream connections', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    // The upstream closes idle keep-alive connections after 150 ms.
    upstream = await startMockUpstream({ keepAliveTimeoutMs: 150 });
    gw = await startGateway({
      workers: 1, // one worker: its pool is certainly the one used by every request
      config: { model_list: [upstreamModel('up', 'ok', upstream.apiBase)], general_settings: { master_key: MASTER_KEY } },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('a pooled connection the upstream closed while idle is not used again', { timeout: 15_000 }, async () => {
    for (let round = 0; round < 2; round++) {
      const closed = upstream.connectionsClosed;
      const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: `round ${round}` }] }, { key: MASTER_KEY });
      assert.equal(r.status, 200, `round ${round}: ${r.text}`);
      assert.equal(r.json.choices[0].message.content, `upstream echo: round ${round}`);
      // wait (bounded, polled) until the upstream has closed the idle connection the gateway keeps
      await waitFor(() => upstream.connectionsClosed > closed, { timeoutMs: 3000, message: 'upstream closed the idle connection' });
    }
  });

  // A chat request sent as this exact text (not re-serialised by the client).
  const postText = (text) =>
    request(gw, '/v1/chat/completions', { method: 'POST', body: text, headers: { 'content-type': 'application/json' }, key: MASTER_KEY });

  // A chat body the scanner vouches for goes upstream as the client wrote it: its spacing, number forms,
  // escapes and member order, only the model value replaced (the parsed path would write the JSON anew).
  it('a chat body goes upstream byte for byte but for the model value', { timeout: 10_000 }, async () => {
    const text = '{ "messages" : [ {"role":"user", "content":"caf\\u00e9 1.0"} ],\n "model" : "up", "temperature": 1.0, "top_p":5e-1, "user":"u\\/1" }';
    const r = await postText(text);
    assert.equal(r.status, 200, r.text);
    assert.equal(upstream.requests.at(-1).rawBody, text.replace('"up"', '"ok"'));
    assert.equal(r.json.model, 'up');
  });

  it('a streamed chat body asks the upstream for usage at its end, and the client sees none', { timeout: 10_000 }, async () => {
    const text = '{"model":"up","stream":true,"messages":[{"role":"user","content":"s"}]} ';
    const r = await postText(text);
    assert.equal(r.status, 200, r.text);
    assert.equal(upstream.requests.at(-1).rawBody, '{"model":"ok","stream":true,"messages":[{"role":"user","content":"s"}],"stream_options":{"include_usage":true}} ');
    assert.ok(r.text.includes('data: [DONE]'), r.text);
    assert.ok(!r.text.includes('"usage"'), 'the client did not ask for usage');
  });

  it('a body with routing fields is parsed: they never reach the upstream', { timeout: 10_000 }, async () => {
    const text = '{"model":"up","num_retries":0,"messages":[{"role":"user","content":"r"}],"timeout":30}';
    const r = await postText(text);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(upstream.requests.at(-1).rawBody), { model: 'ok', messages: [{ role: 'user', content: 'r' }] });
  });

  it('back-to-back requests reuse a connection', { timeout: 10_000 }, async () => {
    const opened = upstream.connectionsOpened;
    for (let i = 0; i < 5; i++) {
      const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: `b2b ${i}` }] }, { key: MASTER_KEY });
      assert.equal(r.status, 200, r.text);
    }
    assert.ok(upstream.connectionsOpened - opened <= 2, `${upstream.connectionsOpened - opened} connections for 5 sequential requests`);
  });
});

describe('a pool as large as the traffic', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      workers: 1, // one worker, one pool
      config: { model_list: [upstreamModel('held', 'gated', upstream.apiBase)], general_settings: { master_key: MASTER_KEY } },
    });
  });
  after(async () => {
    upstream?.release();
    await gw?.stop();
    await upstream?.close();
  });

  // 100 requests held at the upstream at once need 100 upstream connections; once answered, all of them stay
  // pooled, so the next 100 at once open none (a pool that kept 64 opened 36 again).
  it('100 requests at once, twice: the second wave opens no connection', { timeout: 30_000 }, async () => {
    const wave = async (label) => {
      const pending = [];
      for (let i = 0; i < 100; i++) {
        pending.push(postJson(gw, '/v1/chat/completions', { model: 'held', messages: [{ role: 'user', content: `${label} ${i}` }] }, { key: MASTER_KEY }));
      }
      await waitFor(() => upstream.gatedWaiting === 100, { timeoutMs: 10_000, message: `${label}: 100 requests held at the upstream` });
      upstream.release();
      const answers = await Promise.all(pending);
      for (const r of answers) assert.equal(r.status, 200, r.text);
    };
    const before = upstream.connectionsOpened;
    await wave('first');
    assert.equal(upstream.connectionsOpened - before, 100);
    await wave('second');
    assert.equal(upstream.connectionsOpened - before, 100, 'the second wave reused the pooled connections');
  });
});

describe('pooled connections of two upstreams', { timeout: 60_000 }, () => {
  let gw;
  let a;
  let b;
  before(async () => {
    a = await startMockUpstream();
    b = await startMockUpstream();
    gw = await startGateway({
      workers: 1, // one worker, one pool: requests alternate between its two origins
      config: {
        model_list: [
          upstreamModel('to-a', 'ok', a.apiBase),
          upstreamModel('to-b', 'ok', b.apiBase),
          // the same origin as to-a under another base path: one pool with it
          upstreamModel('to-a-root', 'ok', a.apiBase.replace(/\/v1$/, '')),
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await a?.close();
    await b?.close();
  });

  // Each request reuses its own origin's idle connection, never the other origin's one it just pooled.
  it('alternating requests each reach their own upstream over one connection per origin', { timeout: 20_000 }, async () => {
    const plan = [];
    for (let i = 0; i < 8; i++) plan.push('to-a', 'to-b', 'to-a-root', 'to-b');
    for (const [i, model] of plan.entries()) {
      const r = await postJson(gw, '/v1/chat/completions', { model, messages: [{ role: 'user', content: `alt ${i}` }] }, { key: MASTER_KEY });
      assert.equal(r.status, 200, r.text);
    }
    assert.deepEqual(a.requests.map((r) => r.path), [...Array(8)].flatMap(() => ['/v1/chat/completions', '/chat/completions']));
    assert.equal(b.requests.length, 16);
    assert.ok(b.requests.every((r) => r.path === '/v1/chat/completions'));
    assert.equal(a.connectionsOpened, 1, 'one connection to a, reused by both base paths');
    assert.equal(b.connectionsOpened, 1, 'one connection to b');
  });
});
