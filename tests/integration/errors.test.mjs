// Every error row of the contract: OpenAI-shaped bodies with the right status, type, code and param.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  closedPort,
  request,
  postStream,
  assertOpenAIError,
  assertNoSecrets,
  MASTER_KEY,
  UPSTREAM_KEY,
  mockModel,
  upstreamModel,
} from './lib/gateway.mjs';
import { startMockUpstream, UPSTREAM_ERROR_MESSAGE } from './lib/mock_upstream.mjs';

const MSGS = [{ role: 'user', content: 'hi' }];

describe('errors', { timeout: 90_000 }, () => {
  let gw;
  let upstream;
  const bodies = [];
  const send = async (p, opts) => {
    const r = await request(gw, p, { key: MASTER_KEY, ...opts });
    bodies.push(r.text);
    return r;
  };
  const chat = (body) => send('/v1/chat/completions', { method: 'POST', json: body });

  before(async () => {
    upstream = await startMockUpstream();
    const dead = await closedPort();
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          upstreamModel('up', 'ok', upstream.apiBase),
          upstreamModel('bad-400', 'status-400', upstream.apiBase),
          upstreamModel('bad-401', 'status-401', upstream.apiBase),
          upstreamModel('bad-404', 'status-404', upstream.apiBase),
          upstreamModel('bad-429', 'status-429', upstream.apiBase),
          upstreamModel('bad-500', 'status-500', upstream.apiBase),
          upstreamModel('bad-503', 'status-503', upstream.apiBase),
          upstreamModel('html-502', 'garbage-502', upstream.apiBase),
          upstreamModel('html-200', 'garbage-200', upstream.apiBase),
          { model_name: 'gemini-real', litellm_params: { model: 'vertex_ai/gemini-1.5-flash', api_key: 'sk-vertex-unused' } },
          upstreamModel('dead', 'ok', `http://127.0.0.1:${dead}/v1`, { timeout: 5 }),
          upstreamModel('slow', 'slow-5000', upstream.apiBase, { timeout: 0.5 }),
        ],
        general_settings: { master_key: MASTER_KEY },
        // Error mapping is under test here: one attempt per request (retries have their own tests).
        router_settings: { num_retries: 0 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  describe('authentication', () => {
    it('missing key: 401 authentication_error invalid_api_key', { timeout: 10_000 }, async () => {
      const r = await send('/v1/chat/completions', { method: 'POST', json: { model: 'claude-haiku', messages: MSGS }, key: undefined });
      assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    });
    it('wrong key: 401 authentication_error invalid_api_key', { timeout: 10_000 }, async () => {
      const r = await send('/v1/chat/completions', { method: 'POST', json: { model: 'claude-haiku', messages: MSGS }, key: 'sk-nope' });
      assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    });
  });

  describe('request validation', () => {
    it('malformed JSON: 400 invalid_json', { timeout: 10_000 }, async () => {
      for (const body of ['{"model": "claude-haiku", "messages": [', 'not json at all', '']) {
        const r = await send('/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'invalid_json' }, JSON.stringify(body));
      }
    });

    it('absurdly deep JSON (100000 levels): a clean 400, no crash', { timeout: 10_000 }, async () => {
      const depth = 100_000;
      const body = `{"model":"claude-haiku","messages":[{"role":"user","content":"x"}],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const r = await send('/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assertOpenAIError(r, { status: 400, type: 'invalid_request_error' });
      const ok = await chat({ model: 'claude-haiku', messages: MSGS });
      assert.equal(ok.status, 200, 'still serving');
    });

    it('JSON that is not an object: 400', { timeout: 10_000 }, async () => {
      for (const body of ['[1,2,3]', '"a string"', '42', 'null']) {
        const r = await send('/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        assertOpenAIError(r, { status: 400, type: 'invalid_request_error' }, body);
      }
    });

    it('malformed JSON on completions and embeddings: 400 invalid_json', { timeout: 10_000 }, async () => {
      for (const p of ['/v1/completions', '/v1/embeddings']) {
        const r = await send(p, { method: 'POST', body: '{"model":', headers: { 'content-type': 'application/json' } });
        assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'invalid_json' }, p);
      }
    });

    const missing = [
      ['/v1/chat/completions', { messages: MSGS }, 'model'],
      ['/v1/chat/completions', { model: 'claude-haiku' }, 'messages'],
      ['/v1/completions', { prompt: 'x' }, 'model'],
      ['/v1/completions', { model: 'claude-haiku' }, 'prompt'],
      ['/v1/embeddings', { input: 'x' }, 'model'],
      ['/v1/embeddings', { model: 'claude-haiku' }, 'input'],
    ];
    for (const [p, body, param] of missing) {
      it(`${p} without ${param}: 400 missing_required_parameter param=${param}`, { timeout: 10_000 }, async () => {
        const r = await send(p, { method: 'POST', json: body });
        assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'missing_required_parameter', param });
      });
    }

    const wrongType = [
      ['/v1/chat/completions', { model: 'claude-haiku', messages: 'hello' }, 'messages'],
      ['/v1/chat/completions', { model: 'claude-haiku', messages: { role: 'user', content: 'x' } }, 'messages'],
      ['/v1/chat/completions', { model: 42, messages: MSGS }, 'model'],
      ['/v1/completions', { model: ['claude-haiku'], prompt: 'x' }, 'model'],
      ['/v1/embeddings', { model: 'claude-haiku', input: 42 }, 'input'],
    ];
    for (const [p, body, param] of wrongType) {
      it(`${p} with ${param}=${JSON.stringify(body[param])}: 400 invalid_type param=${param}`, { timeout: 10_000 }, async () => {
        const r = await send(p, { method: 'POST', json: body });
        assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'invalid_type', param });
      });
    }

    it('unknown model: 400 model_not_found, no key in the message', { timeout: 10_000 }, async () => {
      for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
        const body = { model: 'no-such-model', messages: MSGS, prompt: 'x', input: 'x' };
        const r = await send(p, { method: 'POST', json: body });
        const e = assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'model_not_found', param: 'model' }, p);
        assertNoSecrets(e.message, [UPSTREAM_KEY, MASTER_KEY], 'model_not_found message');
      }
    });

    it('unknown model on a stream request: a JSON error, not a stream', { timeout: 10_000 }, async () => {
      const r = await chat({ model: 'no-such-model', messages: MSGS, stream: true });
      assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
    });
  });

  describe('routing', () => {
    it('unknown path: 404 not_found', { timeout: 10_000 }, async () => {
      for (const [method, p] of [
        ['GET', '/v1/nope'],
        ['POST', '/v1/foo/bar'],
        ['GET', '/'],
        ['GET', '/v2/models'],
      ]) {
        const r = await send(p, { method, ...(method === 'POST' ? { json: {} } : {}) });
        assertOpenAIError(r, { status: 404, code: 'not_found' }, `${method} ${p}`);
      }
    });

    it('wrong method on a known path: 405 method_not_allowed', { timeout: 10_000 }, async () => {
      for (const [method, p] of [
        ['GET', '/v1/chat/completions'],
        ['PUT', '/v1/chat/completions'],
        ['GET', '/chat/completions'],
        ['GET', '/v1/completions'],
        ['GET', '/v1/embeddings'],
        ['POST', '/v1/models'],
        ['DELETE', '/v1/models'],
      ]) {
        const r = await send(p, { method, ...(method !== 'GET' && method !== 'DELETE' ? { json: {} } : {}) });
        assertOpenAIError(r, { status: 405, code: 'method_not_allowed' }, `${method} ${p}`);
      }
    });
  });

  describe('upstream failures', () => {
    for (const status of [400, 401, 404, 429, 500, 503]) {
      it(`upstream ${status}: same status, upstream message kept`, { timeout: 10_000 }, async () => {
        const r = await chat({ model: `bad-${status}`, messages: MSGS });
        const e = assertOpenAIError(r, { status });
        assert.ok(e.message.includes(UPSTREAM_ERROR_MESSAGE), `message: ${e.message}`);
        assertNoSecrets(r.text, [UPSTREAM_KEY, MASTER_KEY], 'upstream error body');
      });
    }

    it('upstream error on a stream request: same status as a JSON error', { timeout: 10_000 }, async () => {
      const { res } = await postStream(gw, '/v1/chat/completions', { model: 'bad-400', messages: MSGS, stream: true }, { key: MASTER_KEY });
      const text = await res.text();
      bodies.push(text);
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      const e = assertOpenAIError({ status: res.status, headers: res.headers, text, json }, { status: 400 });
      assert.ok(e.message.includes(UPSTREAM_ERROR_MESSAGE), e.message);
    });

    it('upstream 400 on completions and embeddings: same status', { timeout: 10_000 }, async () => {
      const c = await send('/v1/completions', { method: 'POST', json: { model: 'bad-400', prompt: 'x' } });
      assertOpenAIError(c, { status: 400 }, 'completions');
      assert.ok(c.json.error.message.includes(UPSTREAM_ERROR_MESSAGE));
      const e = await send('/v1/embeddings', { method: 'POST', json: { model: 'bad-400', input: 'x' } });
      assertOpenAIError(e, { status: 400 }, 'embeddings');
      assert.ok(e.json.error.message.includes(UPSTREAM_ERROR_MESSAGE));
    });

    it('upstream error with a non-JSON body: still an OpenAI-shaped error', { timeout: 10_000 }, async () => {
      const r = await chat({ model: 'html-502', messages: MSGS });
      assertOpenAIError(r);
      assert.ok(r.status >= 500, `status ${r.status}`);
    });

    it('upstream 200 with a body that is not JSON: 502 api_error upstream_error', { timeout: 10_000 }, async () => {
      const r = await chat({ model: 'html-200', messages: MSGS });
      assertOpenAIError(r, { status: 502, type: 'api_error', code: 'upstream_error' });
    });

    it('upstream 429 and 503 keep their Retry-After', { timeout: 10_000 }, async () => {
      for (const status of [429, 503]) {
        const r = await chat({ model: `bad-${status}`, messages: MSGS });
        assert.equal(r.status, status);
        assert.equal(r.headers.get('retry-after'), '7', `Retry-After on ${status}`);
      }
    });

    it('a provider without an adapter (vertex_ai/): 501 provider_not_supported', { timeout: 10_000 }, async () => {
      const r = await chat({ model: 'gemini-real', messages: MSGS });
      assertOpenAIError(r, { status: 501, type: 'api_error', code: 'provider_not_supported' });
      assertNoSecrets(r.text, ['sk-vertex-unused'], 'body');
    });

    it('upstream unreachable: 502 api_error upstream_unreachable', { timeout: 15_000 }, async () => {
      const r = await chat({ model: 'dead', messages: MSGS });
      const e = assertOpenAIError(r, { status: 502, type: 'api_error', code: 'upstream_unreachable' });
      assertNoSecrets(e.message, [UPSTREAM_KEY, MASTER_KEY], 'message');
      const s = await chat({ model: 'dead', messages: MSGS, stream: true });
      assertOpenAIError(s, { status: 502, type: 'api_error', code: 'upstream_unreachable' }, 'stream request');
    });

    it('upstream slower than timeout: 504 timeout_error upstream_timeout, promptly', { timeout: 15_000 }, async () => {
      const start = Date.now();
      const r = await chat({ model: 'slow', messages: MSGS });
      const elapsed = Date.now() - start;
      assertOpenAIError(r, { status: 504, type: 'timeout_error', code: 'upstream_timeout' });
      assert.ok(elapsed >= 400, `answered after ${elapsed} ms, before the 0.5 s timeout could fire`);
      assert.ok(elapsed < 4000, `answered after ${elapsed} ms; the upstream answers after 5 s and the timeout is 0.5 s`);
    });

    it('the gateway still serves after the failures', { timeout: 10_000 }, async () => {
      const r = await chat({ model: 'up', messages: [{ role: 'user', content: 'still alive' }] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.choices[0].message.content, 'upstream echo: still alive');
    });
  });

  it('no secret in any error body or in stderr', { timeout: 10_000 }, async () => {
    assertNoSecrets(bodies.join('\n'), [MASTER_KEY, UPSTREAM_KEY], 'response bodies');
    assertNoSecrets(gw.stderr + gw.stdout, [MASTER_KEY, UPSTREAM_KEY, 'sk-ant-unused'], 'gateway output');
  });
});
