// Client authentication with general_settings.master_key, and no authentication without one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  request,
  postJson,
  assertOpenAIError,
  assertNoSecrets,
  RawConn,
  MASTER_KEY,
  mockModel,
} from './lib/gateway.mjs';

const CHAT = { model: 'claude-haiku', messages: [{ role: 'user', content: 'auth check' }] };

describe('with a master key', { timeout: 60_000 }, () => {
  let gw;
  const bodies = [];
  const post = async (headers) => {
    const r = await postJson(gw, '/v1/chat/completions', CHAT, { headers });
    bodies.push(r.text);
    return r;
  };
  before(async () => {
    gw = await startGateway({
      config: { model_list: [mockModel('claude-haiku')], general_settings: { master_key: MASTER_KEY } },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('no key: 401 authentication_error invalid_api_key', { timeout: 10_000 }, async () => {
    assertOpenAIError(await post({}), { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('wrong Bearer key: 401', { timeout: 10_000 }, async () => {
    const r = await post({ authorization: 'Bearer sk-wrong-key' });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('a prefix of the master key is not the master key: 401', { timeout: 10_000 }, async () => {
    const r = await post({ authorization: `Bearer ${MASTER_KEY.slice(0, -1)}` });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('the master key plus extra characters is not the master key: 401', { timeout: 10_000 }, async () => {
    const r = await post({ authorization: `Bearer ${MASTER_KEY}x` });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('empty Bearer: 401', { timeout: 10_000 }, async () => {
    const r = await post({ authorization: 'Bearer ' });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('wrong api-key header: 401', { timeout: 10_000 }, async () => {
    const r = await post({ 'api-key': 'sk-wrong-key' });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('wrong x-api-key header: 401', { timeout: 10_000 }, async () => {
    const r = await post({ 'x-api-key': 'sk-wrong-key' });
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('Authorization: Bearer <master key> is accepted', { timeout: 10_000 }, async () => {
    const r = await post({ authorization: `Bearer ${MASTER_KEY}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'chat.completion');
  });

  it('api-key: <master key> is accepted', { timeout: 10_000 }, async () => {
    const r = await post({ 'api-key': MASTER_KEY });
    assert.equal(r.status, 200, r.text);
  });

  it('x-api-key: <master key> is accepted', { timeout: 10_000 }, async () => {
    const r = await post({ 'x-api-key': MASTER_KEY });
    assert.equal(r.status, 200, r.text);
  });

  it('header name and auth scheme are case-insensitive', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    const body = JSON.stringify(CHAT);
    for (const [name, value] of [
      ['AUTHORIZATION', `bearer ${MASTER_KEY}`],
      ['Authorization', `BEARER ${MASTER_KEY}`],
      ['X-API-KEY', MASTER_KEY],
      ['Api-Key', MASTER_KEY],
    ]) {
      await conn.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n${name}: ${value}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const r = await conn.readResponse();
      bodies.push(r.text);
      assert.equal(r.status, 200, `${name}: ${value.replace(MASTER_KEY, '<master key>')} -> ${r.status} ${r.text}`);
    }
  });

  it('auth is checked on every API endpoint', { timeout: 10_000 }, async () => {
    const cases = [
      ['/v1/completions', { model: 'claude-haiku', prompt: 'x' }],
      ['/v1/embeddings', { model: 'claude-haiku', input: 'x' }],
      ['/chat/completions', CHAT],
    ];
    for (const [p, body] of cases) {
      const r = await postJson(gw, p, body);
      bodies.push(r.text);
      assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' }, p);
    }
    const m = await request(gw, '/v1/models/claude-haiku');
    assertOpenAIError(m, { status: 401, type: 'authentication_error' }, '/v1/models/claude-haiku');
  });

  it('auth failure comes before body validation', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/chat/completions', {
      method: 'POST',
      body: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    bodies.push(r.text);
    assertOpenAIError(r, { status: 401, type: 'authentication_error' });
  });

  it('health endpoints need no key', { timeout: 10_000 }, async () => {
    for (const p of ['/health/liveliness', '/health/readiness', '/_health/live', '/_health/ready']) {
      const r = await request(gw, p);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
    }
  });

  it('the master key appears in no response body and not in stderr', { timeout: 10_000 }, async () => {
    assertNoSecrets(bodies.join('\n'), [MASTER_KEY], 'response bodies');
    assertNoSecrets(gw.stderr + gw.stdout, [MASTER_KEY], 'gateway output');
  });
});

describe('without a master key', { timeout: 60_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({ config: { model_list: [mockModel('claude-haiku')] } });
  });
  after(async () => {
    await gw?.stop();
  });

  it('requests without any key are served', { timeout: 10_000 }, async () => {
    const r = await postJson(gw, '/v1/chat/completions', CHAT);
    assert.equal(r.status, 200, r.text);
    const m = await request(gw, '/v1/models');
    assert.equal(m.status, 200, m.text);
  });

  it('requests with an arbitrary key are served', { timeout: 10_000 }, async () => {
    const r = await postJson(gw, '/v1/chat/completions', CHAT, { key: 'sk-anything' });
    assert.equal(r.status, 200, r.text);
  });
});
