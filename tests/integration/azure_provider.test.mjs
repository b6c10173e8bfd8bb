// The azure/ provider against the mock upstream: Azure OpenAI's deployment paths, api-version, api-key and
// Microsoft Entra ID bearer authentication, streaming and errors, with the credentials kept out of every answer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  postJson,
  postStream,
  request,
  classifyChatEvents,
  assertNoSecrets,
  assertOpenAIError,
  allGatewayStderr,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, assertNoSecretsInSpans } from './lib/tracing.mjs';

const AZURE_KEY = 'azure-key-0123456789abcdef';
const AD_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOi.azure-ad-token-secret';
const ENV_VERSION = '2024-08-01-preview';

describe('azure/ provider', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  const texts = [];
  const post = async (body) => {
    const r = await postJson(gw, '/v1/chat/completions', body, { key: MASTER_KEY });
    texts.push(r.text);
    return r;
  };
  const last = () => upstream.requests.at(-1);
  const azure = (name, deployment, extra = {}) => ({
    model_name: name,
    litellm_params: { model: `azure/${deployment}`, api_base: upstream.origin, ...extra },
  });

  before(async () => {
    upstream = await startMockUpstream();
    upstream.origin = `http://127.0.0.1:${upstream.port}`;
    gw = await startGateway({
      env: { AZURE_API_VERSION: ENV_VERSION },
      config: {
        model_list: [
          azure('gpt-azure', 'ok', { api_key: AZURE_KEY, api_version: '2024-10-21' }),
          azure('gpt-azure-env-version', 'ok', { api_key: AZURE_KEY }),
          azure('gpt-azure-ad', 'ok', { azure_ad_token: AD_TOKEN, api_version: '2024-10-21' }),
          azure('gpt-azure-429', 'status-429', { api_key: AZURE_KEY }),
          azure('embed-azure', 'ok', { api_key: AZURE_KEY, api_version: '2024-10-21' }),
          {
            model_name: 'gpt-azure-openai-base',
            litellm_params: { model: 'azure/ok', api_base: `${upstream.origin}/openai/`, api_key: AZURE_KEY },
          },
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
    for (const t of [...texts, allGatewayStderr()]) assertNoSecrets(t, [AZURE_KEY, AD_TOKEN], 'azure answers and logs');
  });

  it('chat: the deployment path with api-version, the api-key header and no bearer token', async () => {
    const r = await post({ model: 'gpt-azure', messages: [{ role: 'user', content: 'hello azure' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'gpt-azure');
    assert.match(r.json.choices[0].message.content, /hello azure/);
    const u = last();
    assert.equal(u.path, '/openai/deployments/ok/chat/completions');
    assert.equal(new URL(u.url, 'http://x').searchParams.get('api-version'), '2024-10-21');
    assert.equal(u.headers['api-key'], AZURE_KEY);
    assert.equal(u.headers.authorization, undefined);
    assert.equal(u.body.model, 'ok');
  });

  it('api-version comes from AZURE_API_VERSION when the deployment sets none', async () => {
    const r = await post({ model: 'gpt-azure-env-version', messages: [{ role: 'user', content: 'v' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(new URL(last().url, 'http://x').searchParams.get('api-version'), ENV_VERSION);
  });

  it('an api_base that already ends in /openai is not doubled', async () => {
    const r = await post({ model: 'gpt-azure-openai-base', messages: [{ role: 'user', content: 'b' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(last().path, '/openai/deployments/ok/chat/completions');
  });

  it('azure_ad_token: a bearer token and no api-key header', async () => {
    const r = await post({ model: 'gpt-azure-ad', messages: [{ role: 'user', content: 'entra' }] });
    assert.equal(r.status, 200, r.text);
    const u = last();
    assert.equal(u.headers.authorization, `Bearer ${AD_TOKEN}`);
    assert.equal(u.headers['api-key'], undefined);
  });

  it('streaming with usage: chunks come back with the public model, then [DONE]', async () => {
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'gpt-azure', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me' }] },
      { key: MASTER_KEY },
    );
    assert.equal(res.status, 200);
    const events = classifyChatEvents(await sse.all());
    assert.ok(events.done, 'ends with [DONE]');
    assert.match(events.content, /stream me/);
    assert.ok(events.chunks.every((c) => c.model === 'gpt-azure'));
    assert.ok(events.chunks.some((c) => c.usage && c.usage.total_tokens > 0), 'a usage chunk');
    assert.equal(last().path, '/openai/deployments/ok/chat/completions');
  });

  it('embeddings use the deployment embeddings path', async () => {
    const r = await postJson(gw, '/v1/embeddings', { model: 'embed-azure', input: 'vector me' }, { key: MASTER_KEY });
    texts.push(r.text);
    assert.equal(r.status, 200, r.text);
    assert.equal(last().path, '/openai/deployments/ok/embeddings');
    assert.equal(r.json.data.length, 1);
  });

  it('an Azure 429 keeps its status and Retry-After, and never echoes the key', async () => {
    const r = await post({ model: 'gpt-azure-429', messages: [{ role: 'user', content: 'limit' }] });
    assertOpenAIError(r, { status: 429 });
    assert.ok(r.headers.get('retry-after'), 'Retry-After kept');
  });
});

describe('azure/ provider: spans', { timeout: 30_000 }, () => {
  let upstream;
  let receiver;
  let gw;
  before(async () => {
    upstream = await startMockUpstream();
    ({ receiver, gw } = await startTracedGateway({
      protocol: 'http/json',
      config: {
        model_list: [
          {
            model_name: 'gpt-azure',
            litellm_params: { model: 'azure/ok', api_base: `http://127.0.0.1:${upstream.port}`, api_key: AZURE_KEY },
          },
        ],
        general_settings: { master_key: MASTER_KEY },
      },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  it('llm.provider azure, the deployment as the model, token counts from the answer', { timeout: 10_000 }, async () => {
    const ua = uniqueUa('azure');
    const r = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      json: { model: 'gpt-azure', messages: [{ role: 'user', content: 'azure spans' }] },
      headers: { 'user-agent': ua },
    });
    assert.equal(r.status, 200, r.text);
    const { server, clients } = await requestSpans(receiver, ua);
    assertAttr(server, 'llm.provider', 'azure', 'string');
    assertAttr(server, 'llm.model', 'ok', 'string');
    assertAttr(server, 'gen_ai.usage.input_tokens', r.json.usage.prompt_tokens, 'int');
    assertAttr(server, 'gen_ai.usage.output_tokens', r.json.usage.completion_tokens, 'int');
    assert.equal(clients.length, 1);
    assertAttr(clients[0], 'gen_ai.provider.name', 'azure', 'string');
    assertAttr(clients[0], 'http.response.status_code', 200, 'int');
    assertNoSecretsInSpans(receiver.spans(), [AZURE_KEY, MASTER_KEY]);
  });
});
