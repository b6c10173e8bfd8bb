// Secrets stay secret: across a run with auth failures, validation errors, upstream errors, an unreachable
// upstream, a timeout and streams, neither the master key nor the upstream api_key appears in any response
// (body or header) nor anywhere in the gateway's stderr/stdout, including its shutdown output.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  closedPort,
  request,
  postStream,
  assertNoSecrets,
  upstreamModel,
  mockModel,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

const MASTER = 'sk-master-SECRET-7f3a9c';
const UPKEY = 'sk-upstream-SECRET-b41e02';
const SECRETS = [MASTER, UPKEY, 'SECRET-7f3a9c', 'SECRET-b41e02'];
const MSGS = [{ role: 'user', content: 'hello' }];

describe('secrets never leak', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  const seen = []; // every response: status line, headers and body

  const record = (label, status, headers, text) => {
    seen.push(`${label} ${status}\n${[...headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
  };
  const call = async (label, p, opts) => {
    const r = await request(gw, p, opts);
    record(label, r.status, r.headers, r.text);
    return r;
  };

  before(async () => {
    upstream = await startMockUpstream();
    const dead = await closedPort();
    const up = (name, id, extra = {}) => {
      const m = upstreamModel(name, id, upstream.apiBase, extra);
      m.litellm_params.api_key = UPKEY;
      return m;
    };
    const deadModel = up('dead', 'ok');
    deadModel.litellm_params.api_base = `http://127.0.0.1:${dead}/v1`;
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          up('up', 'ok'),
          up('up-401', 'status-401'),
          up('up-500', 'status-500'),
          up('up-slow', 'slow-3000', { timeout: 0.3 }),
          up('up-break', 'stream-break', { stream_timeout: 5 }),
          deadModel,
        ],
        general_settings: { master_key: MASTER },
        router_settings: { num_retries: 0 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('a run with failures of every kind', { timeout: 30_000 }, async () => {
    const chat = (model, key, extra = {}) =>
      call(`chat ${model}`, '/v1/chat/completions', { method: 'POST', json: { model, messages: MSGS, ...extra }, key });

    // authentication failures, including keys that resemble the master key
    assert.equal((await chat('up', undefined)).status, 401);
    assert.equal((await chat('up', 'sk-wrong')).status, 401);
    assert.equal((await chat('up', MASTER.slice(0, -2))).status, 401);
    assert.equal((await chat('up', UPKEY)).status, 401, 'the upstream key is not a client key');
    assert.equal(
      (await call('x-api-key wrong', '/v1/models', { headers: { 'x-api-key': MASTER + 'zz' } })).status,
      401,
    );
    // validation errors and unknown models
    assert.equal((await call('bad json', '/v1/chat/completions', { method: 'POST', body: '{', key: MASTER })).status, 400);
    assert.equal((await chat('nope', MASTER)).status, 400);
    assert.equal((await call('unknown path', '/v1/secret', { key: MASTER })).status, 404);
    // successes
    assert.equal((await chat('up', MASTER)).status, 200);
    assert.equal((await chat('claude-haiku', MASTER)).status, 200);
    assert.equal((await call('models', '/v1/models', { key: MASTER })).status, 200);
    assert.equal((await call('model', '/v1/models/up', { key: MASTER })).status, 200);
    // upstream errors, unreachable, timeout
    assert.equal((await chat('up-401', MASTER)).status, 401);
    assert.equal((await chat('up-500', MASTER)).status, 500);
    assert.equal((await chat('dead', MASTER)).status, 502);
    assert.equal((await chat('up-slow', MASTER)).status, 504);
    // streams: complete, and broken mid-way
    for (const model of ['up', 'up-break', 'claude-haiku']) {
      const { res, sse } = await postStream(gw, '/v1/chat/completions', { model, messages: MSGS, stream: true }, { key: MASTER });
      const events = await sse.all(8000);
      record(`stream ${model}`, res.status, res.headers, events.map((e) => e.data).join('\n'));
    }
    assert.ok(upstream.requests.length >= 5, 'the upstream was reached');
    for (const r of upstream.requests) {
      assert.equal(r.headers.authorization, `Bearer ${UPKEY}`);
      assertNoSecrets(JSON.stringify(r.headers) + r.rawBody, [MASTER], 'an upstream request');
    }
  });

  it('no secret in any response', { timeout: 10_000 }, () => {
    assert.ok(seen.length > 15);
    assertNoSecrets(seen.join('\n'), SECRETS, 'responses');
  });

  it('no secret in stderr or stdout, shutdown included', { timeout: 20_000 }, async () => {
    const exit = await gw.stop();
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    assert.ok(gw.stderr.length > 0, 'the gateway logged something');
    assertNoSecrets(gw.stderr, SECRETS, 'stderr');
    assertNoSecrets(gw.stdout, SECRETS, 'stdout');
  });
});
