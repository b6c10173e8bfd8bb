// Health endpoints (no auth) and the model listing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  closedPort,
  request,
  assertOpenAIError,
  MASTER_KEY,
  mockModel,
  upstreamModel,
} from './lib/gateway.mjs';

describe('health and models', { timeout: 60_000 }, () => {
  let gw;
  before(async () => {
    const port = await closedPort(); // the openai/ deployment is never called here
    gw = await startGateway({
      config: {
        model_list: [
          mockModel('claude-haiku'),
          // two deployments of one public name: a single model in /v1/models
          { model_name: 'gpt-4o', litellm_params: { model: 'mock/a' } },
          { model_name: 'gpt-4o', litellm_params: { model: 'mock/b' } },
          upstreamModel('up', 'ok', `http://127.0.0.1:${port}/v1`),
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  for (const p of ['/health/liveliness', '/health/readiness', '/_health/live', '/_health/ready']) {
    it(`GET ${p} answers 200 without auth`, { timeout: 10_000 }, async () => {
      const r = await request(gw, p);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.headers.get('x-request-id'), 'x-request-id header');
    });
  }

  it('GET /v1/models lists each distinct model_name once', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models', { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(r.json.object, 'list');
    assert.ok(Array.isArray(r.json.data));
    const ids = r.json.data.map((m) => m.id);
    assert.deepEqual([...ids].sort(), ['claude-haiku', 'gpt-4o', 'up']);
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.ok(Number.isInteger(m.created) && m.created >= 0, `created: ${m.created}`);
      assert.equal(typeof m.owned_by, 'string');
    }
  });

  it('a query string does not change the route', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models?limit=5&after=x', { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'list');
    const h = await request(gw, '/health/liveliness?probe=1');
    assert.equal(h.status, 200, h.text);
  });

  it('GET /models (no /v1) lists the same models', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/models', { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.map((m) => m.id).sort(), ['claude-haiku', 'gpt-4o', 'up']);
  });

  it("the client's own short x-request-id is echoed", { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models', { key: MASTER_KEY, headers: { 'x-request-id': 'client-req-1234' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-request-id'), 'client-req-1234');
  });

  it('GET /v1/models/{id} returns one model', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models/claude-haiku', { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, 'claude-haiku');
    assert.equal(r.json.object, 'model');
    assert.equal(typeof r.json.created, 'number');
    assert.equal(typeof r.json.owned_by, 'string');
  });

  it('GET /v1/models/{id} of a model group with several deployments', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models/gpt-4o', { key: MASTER_KEY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, 'gpt-4o');
  });

  it('GET /v1/models/{unknown} is 404 model_not_found', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models/no-such-model', { key: MASTER_KEY });
    assertOpenAIError(r, { status: 404, code: 'model_not_found' });
  });

  it('GET /v1/models needs the master key', { timeout: 10_000 }, async () => {
    const r = await request(gw, '/v1/models');
    assertOpenAIError(r, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('every response carries a distinct x-request-id, errors too', { timeout: 10_000 }, async () => {
    const a = await request(gw, '/v1/models', { key: MASTER_KEY });
    const b = await request(gw, '/v1/models', { key: MASTER_KEY });
    const c = await request(gw, '/v1/models'); // 401
    const d = await request(gw, '/no/such/path', { key: MASTER_KEY }); // 404
    const ids = [a, b, c, d].map((r) => r.headers.get('x-request-id'));
    for (const id of ids) assert.ok(id && id.length > 0, `x-request-id: ${ids}`);
    assert.equal(new Set(ids).size, ids.length, `x-request-id values repeat: ${ids}`);
  });
});
