// A model group mixing providers: when one deployment's adapter cannot serve a request as asked (it refuses with a
// 400 before calling its upstream), another deployment of the group serves it, and fallbacks apply; a request
// that no provider can serve still gets the 400.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, assertOpenAIError, MASTER_KEY, UPSTREAM_KEY } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { startAnthropicUpstream } from './lib/anthropic_upstream.mjs';

const ANT_KEY = 'sk-ant-mixed-group-0123456789';

describe('mixed-provider groups', { timeout: 60_000 }, () => {
  let gw;
  let openai;
  let anthropic;

  before(async () => {
    openai = await startMockUpstream();
    anthropic = await startAnthropicUpstream({ apiKey: ANT_KEY });
    const claude = (name, weight) => ({
      model_name: name,
      litellm_params: { model: 'anthropic/claude-3-5-haiku-20241022', api_base: anthropic.apiBase, api_key: ANT_KEY, weight },
    });
    const gpt = (name, weight) => ({
      model_name: name,
      litellm_params: { model: 'openai/ok', api_base: openai.apiBase, api_key: UPSTREAM_KEY, weight },
    });
    gw = await startGateway({
      config: {
        model_list: [
          // The Anthropic deployment always goes first (weight 1 against 0).
          claude('mixed', 1),
          gpt('mixed', 0),
          claude('claude-only', 1),
          gpt('gpt-fallback', 1),
          claude('claude-no-fallback', 1),
          { model_name: 'gpt-bad', litellm_params: { model: 'openai/status-400', api_base: openai.apiBase, api_key: UPSTREAM_KEY, weight: 1 } },
          gpt('gpt-bad', 0),
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0, fallbacks: [{ 'claude-only': ['gpt-fallback'] }, { 'gpt-bad': ['gpt-fallback'] }] },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await openai?.close();
    await anthropic?.close();
  });

  const chat = (model, extra = {}) =>
    postJson(gw, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'two answers please' }], ...extra }, { key: MASTER_KEY });

  it('n: 2, which Anthropic cannot do, is served by the OpenAI deployment of the same group without a retry', async () => {
    const before = anthropic.requests.length;
    const r = await chat('mixed', { n: 2 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-litellm-model-id'), 'mixed-1');
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '0');
    assert.equal(anthropic.requests.length, before, 'nothing was sent to Anthropic');
  });

  it('a request the group cannot serve anywhere falls back to another group', async () => {
    const r = await chat('claude-only', { n: 2 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-litellm-model-group'), 'gpt-fallback');
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
  });

  it("without another deployment or a fallback, the adapter's 400 reaches the client", async () => {
    const r = await chat('claude-no-fallback', { n: 2 });
    assertOpenAIError(r, { status: 400, type: 'invalid_request_error' });
    assert.match(r.json.error.message, /\bn\b/);
  });

  it('a 400 from an upstream is a bad request: no other deployment, no fallback', async () => {
    const r = await chat('gpt-bad');
    assertOpenAIError(r, { status: 400 });
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0');
    assert.equal(r.headers.get('x-litellm-model-id'), 'gpt-bad-5', 'the other deployment of the group was not tried');
  });
});
