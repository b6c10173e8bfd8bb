// The bedrock/ provider end to end: the gateway's /v1/chat/completions against a loopback Bedrock stand-in
// (lib/bedrock_upstream.mjs) that verifies each request's SigV4 signature with its own implementation and checks
// the Converse path. Non-stream and stream answers, tools both ways, usage, Bedrock's errors (throttling,
// too-long input, access denied, a bad signature, an exception frame mid-stream), requests refused before any
// call, credentials from litellm_params (through os.environ/) and from the environment, the region and endpoint
// settings, spans with llm.provider "bedrock" and token counts, and no AWS secret in any response, span or log.
import os from 'node:os';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  request,
  postStream,
  classifyChatEvents,
  assertOpenAIError,
  assertNoSecrets,
  allGatewayStderr,
  MASTER_KEY,
} from './lib/gateway.mjs';
import { startTracedGateway, uniqueUa, requestSpans, assertAttr, assertNoSecretsInSpans, describeSpan, otelEnv } from './lib/tracing.mjs';
import {
  startBedrockUpstream,
  THROTTLE_MESSAGE,
  TOO_LONG_MESSAGE,
  MIDSTREAM_MESSAGE,
  DENIED_MESSAGE,
} from './lib/bedrock_upstream.mjs';

// Long-term-looking keys with session tokens: one pair in litellm_params, one in the environment.
const PARAM_KEY = 'AKIAPARAMEXAMPLE0001';
const PARAM_SECRET = 'pArAm/Secret+Key/EXAMPLE0123456789abcdefXY';
const PARAM_TOKEN = 'FwoGZXIvYXdzEParamSessionTokenEXAMPLE0123456789abcdef';
const ENV_KEY = 'AKIAENVEXAMPLE000002';
const ENV_SECRET = 'eNv/Secret+Key/EXAMPLE9876543210fedcbaZW';
const ENV_TOKEN = 'FwoGZXIvYXdzEEnvSessionTokenEXAMPLE9876543210fedcba';
const WRONG_SECRET = 'wRoNg/Secret+Key/EXAMPLE5555555555aaaaaaQQ';
const SECRETS = [PARAM_SECRET, PARAM_TOKEN, ENV_SECRET, ENV_TOKEN, WRONG_SECRET];

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const PROFILE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const ARN = 'arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0';

const paramCredentials = {
  aws_access_key_id: PARAM_KEY,
  aws_secret_access_key: 'os.environ/BEDROCK_TEST_SECRET',
  aws_session_token: 'os.environ/BEDROCK_TEST_TOKEN',
};

function bedrockModel(name, modelId, apiBase, extra = {}) {
  return { model_name: name, litellm_params: { model: `bedrock/${modelId}`, api_base: apiBase, ...extra } };
}

const config = (upstream) => ({
  model_list: [
    bedrockModel('claude-haiku', HAIKU, upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    {
      model_name: 'claude-profile',
      litellm_params: { model: `bedrock/${PROFILE}`, aws_bedrock_runtime_endpoint: upstream.url, aws_region_name: 'us-west-2', ...paramCredentials },
    },
    bedrockModel('claude-arn', ARN, upstream.url, paramCredentials),
    bedrockModel('claude-tools', 'anthropic.tooluse-v1:0', upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    bedrockModel('claude-throttle', 'anthropic.throttle-v1:0', upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    bedrockModel('claude-toolong', 'anthropic.toolong-v1:0', upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    bedrockModel('claude-denied', 'anthropic.denied-v1:0', upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    bedrockModel('claude-midstream', 'anthropic.midstream-v1:0', upstream.url, { aws_region_name: 'us-east-1', ...paramCredentials }),
    bedrockModel('claude-env', 'anthropic.claude-env-v1:0', upstream.url),
    bedrockModel('claude-badsig', 'anthropic.claude-badsig-v1:0', upstream.url, {
      aws_region_name: 'us-east-1',
      aws_access_key_id: PARAM_KEY,
      aws_secret_access_key: WRONG_SECRET,
      aws_session_token: PARAM_TOKEN,
    }),
  ],
  general_settings: { master_key: MASTER_KEY },
  router_settings: { num_retries: 0 },
});

const gatewayEnv = {
  BEDROCK_TEST_SECRET: PARAM_SECRET,
  BEDROCK_TEST_TOKEN: PARAM_TOKEN,
  AWS_ACCESS_KEY_ID: ENV_KEY,
  AWS_SECRET_ACCESS_KEY: ENV_SECRET,
  AWS_SESSION_TOKEN: ENV_TOKEN,
  AWS_REGION: 'us-east-2',
  AWS_DEFAULT_REGION: undefined,
  AWS_PROFILE: undefined,
};

describe('bedrock provider', { timeout: 60_000 }, () => {
  let upstream;
  let receiver;
  let gw;
  const texts = []; // every response body and stream the clients saw

  const chat = async (model, body = {}, headers = {}) => {
    const r = await request(gw, '/v1/chat/completions', {
      key: MASTER_KEY,
      headers,
      json: { model, messages: [{ role: 'user', content: 'Hello there Bedrock' }], ...body },
    });
    texts.push(r.text);
    return r;
  };

  const stream = async (model, body = {}, headers = {}) => {
    const { res, sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model, messages: [{ role: 'user', content: 'Stream me some words' }], stream: true, ...body },
      { key: MASTER_KEY, headers },
    );
    const events = res.status === 200 ? await sse.all(10_000) : [];
    const text = res.status === 200 ? events.map((e) => e.data).join('\n') : await res.text();
    texts.push(text);
    return { res, events, text, ...classifyChatEvents(events) };
  };

  before(async () => {
    upstream = await startBedrockUpstream({
      credentials: {
        [PARAM_KEY]: { secretAccessKey: PARAM_SECRET, sessionToken: PARAM_TOKEN },
        [ENV_KEY]: { secretAccessKey: ENV_SECRET, sessionToken: ENV_TOKEN },
      },
    });
    ({ receiver, gw } = await startTracedGateway({ protocol: 'http/protobuf', config: config(upstream), env: gatewayEnv }));
  });

  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  it('non-stream: a signed Converse call, the answer in OpenAI shape with usage', async () => {
    const r = await chat('claude-haiku', {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there Bedrock' },
      ],
      max_tokens: 64,
      temperature: 0.2,
      stop: ['END'],
      seed: 1,
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.id, /^chatcmpl-/);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.json.model, 'claude-haiku');
    assert.equal(r.json.choices.length, 1);
    assert.deepEqual(r.json.choices[0].message, { role: 'assistant', content: 'You said: Hello there Bedrock' });
    assert.equal(r.json.choices[0].finish_reason, 'stop');
    assert.deepEqual(r.json.usage, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });

    const [rec] = upstream.requestsFor(HAIKU);
    assert.ok(rec, 'the stand-in got the call');
    assert.equal(rec.verified, true, rec.failure);
    assert.equal(rec.rawPath, '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    assert.equal(rec.accessKeyId, PARAM_KEY);
    assert.equal(rec.region, 'us-east-1');
    assert.equal(rec.headers['x-amz-security-token'], PARAM_TOKEN);
    assert.ok(rec.signedHeaders.includes('x-amz-security-token') && rec.signedHeaders.includes('host'));
    assert.equal(rec.headers['content-type'], 'application/json');
    assert.deepEqual(rec.body, {
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hello there Bedrock' }] }],
      inferenceConfig: { maxTokens: 64, temperature: 0.2, stopSequences: ['END'] },
    });
  });

  it('stream: event-stream frames (one split across reads) forwarded as chunks, no usage unless asked', async () => {
    const s = await stream('claude-haiku');
    assert.equal(s.res.status, 200);
    assert.match(s.res.headers.get('content-type'), /text\/event-stream/);
    assert.ok(s.done, 'ends with [DONE]');
    assert.deepEqual(s.errors, []);
    assert.equal(s.content, 'You said: Stream me some words');
    assert.deepEqual(s.chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    const last = s.chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'stop');
    for (const c of s.chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'claude-haiku');
      assert.equal(c.id, s.chunks[0].id);
      assert.ok(!('usage' in c), JSON.stringify(c));
    }
    const rec = upstream.requests.find((q) => q.rawPath.endsWith('/converse-stream') && q.modelId === HAIKU);
    assert.ok(rec);
    assert.equal(rec.verified, true, rec.failure);
    assert.equal(rec.rawPath, '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream');
    assert.equal(rec.headers.accept, 'application/vnd.amazon.eventstream');
  });

  it('stream with include_usage: a usage chunk after the finish chunk; spans carry the counts', async () => {
    const ua = uniqueUa('bedrock-stream-usage');
    const s = await stream('claude-haiku', { stream_options: { include_usage: true } }, { 'user-agent': ua });
    assert.ok(s.done);
    const usage = s.chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
    assert.equal(s.chunks.at(-2).choices[0].finish_reason, 'stop');

    const { server, clients } = await requestSpans(receiver, ua);
    assertAttr(server, 'llm.provider', 'bedrock', 'string');
    assertAttr(server, 'llm.model', HAIKU, 'string');
    assertAttr(server, 'llm.tokens.prompt', 11, 'int');
    assertAttr(server, 'llm.tokens.completion', 6, 'int');
    assertAttr(server, 'gen_ai.response.finish_reasons', ['stop'], 'array');
    assertAttr(server, 'gen_ai.request.stream', true, 'bool');
    assert.equal(clients.length, 1, describeSpan(server));
    assertAttr(clients[0], 'gen_ai.provider.name', 'bedrock', 'string');
    assertAttr(clients[0], 'server.address', '127.0.0.1', 'string');
    assertAttr(clients[0], 'server.port', upstream.port, 'int');
    assertAttr(clients[0], 'http.response.status_code', 200, 'int');
    assertAttr(clients[0], 'gen_ai.usage.input_tokens', 11, 'int');
  });

  it('non-stream spans: llm.provider "bedrock", the model id, token counts, the response id', async () => {
    const ua = uniqueUa('bedrock-chat');
    const r = await chat('claude-haiku', { max_tokens: 16 }, { 'user-agent': ua });
    assert.equal(r.status, 200, r.text);
    const { server, clients } = await requestSpans(receiver, ua);
    assertAttr(server, 'llm.provider', 'bedrock', 'string');
    assertAttr(server, 'gen_ai.system', 'bedrock', 'string');
    assertAttr(server, 'llm.model', HAIKU, 'string');
    assertAttr(server, 'llm.tokens.prompt', r.json.usage.prompt_tokens, 'int');
    assertAttr(server, 'llm.tokens.completion', r.json.usage.completion_tokens, 'int');
    assertAttr(server, 'gen_ai.usage.input_tokens', r.json.usage.prompt_tokens, 'int');
    assertAttr(server, 'gen_ai.usage.output_tokens', r.json.usage.completion_tokens, 'int');
    assertAttr(server, 'gen_ai.response.id', r.json.id, 'string');
    assertAttr(server, 'gen_ai.response.model', HAIKU, 'string');
    assertAttr(server, 'gen_ai.request.max_tokens', 16, 'int');
    assert.equal(clients.length, 1);
    assertAttr(clients[0], 'gen_ai.request.model', HAIKU, 'string');
    assertAttr(clients[0], 'http.response.status_code', 200, 'int');
  });

  it('tools, non-stream: tool_calls from toolUse; the tool result goes back as a toolResult turn', async () => {
    const tools = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ];
    const question = { role: 'user', content: 'Weather in Paris?' };
    const r = await chat('claude-tools', { messages: [question], tools, tool_choice: 'required' });
    assert.equal(r.status, 200, r.text);
    const choice = r.json.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.match(call.id, /^tooluse_/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    const first = upstream.requestsFor('anthropic.tooluse-v1:0').at(-1);
    assert.deepEqual(first.body.toolConfig, {
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather by city', inputSchema: { json: tools[0].function.parameters } } }],
      toolChoice: { any: {} },
    });

    const r2 = await chat('claude-tools', {
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '18 degrees and sunny' }, { role: 'user', content: 'Thanks' }],
      tools,
    });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.choices[0].message.content, 'Tool results: 18 degrees and sunny');
    const second = upstream.requestsFor('anthropic.tooluse-v1:0').at(-1);
    assert.equal(second.verified, true);
    assert.deepEqual(second.body.messages, [
      { role: 'user', content: [{ text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: call.id, name: 'get_weather', input: { city: 'Paris' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: '18 degrees and sunny' }] } }, { text: 'Thanks' }] },
    ]);
    assert.equal(second.body.toolConfig.toolChoice, undefined);
  });

  it('tools, stream: the first tool_calls delta names the tool, argument deltas follow', async () => {
    const s = await stream('claude-tools', {
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
      stream_options: { include_usage: true },
    });
    assert.ok(s.done);
    assert.deepEqual(s.errors, []);
    const deltas = s.chunks.flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
    assert.ok(deltas.length >= 3, JSON.stringify(deltas));
    assert.equal(deltas[0].index, 0);
    assert.match(deltas[0].id, /^tooluse_/);
    assert.equal(deltas[0].function.name, 'get_weather');
    assert.ok(deltas.every((d) => d.index === 0));
    assert.deepEqual(JSON.parse(deltas.map((d) => d.function.arguments).join('')), { city: 'Paris' });
    const finish = s.chunks.find((c) => c.choices?.[0]?.finish_reason);
    assert.equal(finish.choices[0].finish_reason, 'tool_calls');
    assert.equal(s.chunks.at(-1).usage.completion_tokens, 9);
  });

  it('region and endpoint: aws_bedrock_runtime_endpoint with aws_region_name; the region of an ARN', async () => {
    const profile = await chat('claude-profile');
    assert.equal(profile.status, 200, profile.text);
    const p = upstream.requestsFor(PROFILE).at(-1);
    assert.equal(p.verified, true, p.failure);
    assert.equal(p.region, 'us-west-2');
    assert.equal(p.rawPath, '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');

    const arn = await chat('claude-arn');
    assert.equal(arn.status, 200, arn.text);
    const a = upstream.requestsFor(ARN).at(-1);
    assert.equal(a.verified, true, a.failure);
    assert.equal(a.region, 'eu-west-3', 'the ARN names the region (AWS_REGION is us-east-2)');
    assert.equal(a.rawPath, `/model/${encodeURIComponent(ARN)}/converse`);
  });

  it('credentials and region from the environment when litellm_params has none', async () => {
    const r = await chat('claude-env');
    assert.equal(r.status, 200, r.text);
    const rec = upstream.requestsFor('anthropic.claude-env-v1:0').at(-1);
    assert.equal(rec.verified, true, rec.failure);
    assert.equal(rec.accessKeyId, ENV_KEY);
    assert.equal(rec.headers['x-amz-security-token'], ENV_TOKEN);
    assert.equal(rec.region, 'us-east-2');
    const s = await stream('claude-env');
    assert.ok(s.done);
    assert.equal(s.content, 'You said: Stream me some words');
  });

  it('ThrottlingException: 429 rate_limit_error with the message and Retry-After, stream too', async () => {
    const ua = uniqueUa('bedrock-throttle');
    const r = await chat('claude-throttle', {}, { 'user-agent': ua });
    assertOpenAIError(r, { status: 429, type: 'rate_limit_error' });
    assert.equal(r.json.error.message, THROTTLE_MESSAGE);
    assert.equal(r.headers.get('retry-after'), '1');
    const s = await stream('claude-throttle');
    assert.equal(s.res.status, 429);
    assert.equal(JSON.parse(s.text).error.type, 'rate_limit_error');
    const { clients } = await requestSpans(receiver, ua);
    assertAttr(clients[0], 'http.response.status_code', 429, 'int');
    assertAttr(clients[0], 'error.type', (v) => typeof v === 'string' && v.length > 0, 'string');
  });

  it('ValidationException "Input is too long": 400 context_length_exceeded', async () => {
    const r = await chat('claude-toolong');
    assertOpenAIError(r, { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' });
    assert.equal(r.json.error.message, TOO_LONG_MESSAGE);
  });

  it('AccessDeniedException: 403 with the message', async () => {
    const r = await chat('claude-denied');
    assertOpenAIError(r, { status: 403 });
    assert.equal(r.json.error.message, DENIED_MESSAGE);
  });

  it('a wrong secret: the stand-in rejects the signature (echoing the session token); 401 without any secret', async () => {
    const r = await chat('claude-badsig');
    assertOpenAIError(r, { status: 401, type: 'authentication_error' });
    assert.match(r.json.error.message, /signature we calculated does not match/);
    const rec = upstream.requestsFor('anthropic.claude-badsig-v1:0').at(-1) ?? upstream.failures.at(-1);
    assert.ok(rec && rec.verified === false, 'the stand-in refused the signature');
    assert.ok(rec.failure.includes(PARAM_TOKEN), 'the stand-in echoed the canonical request with the token, as AWS does');
    assertNoSecrets(r.text, SECRETS, 'the error response');
  });

  it('an exception frame mid-stream: the chunks so far, then an error event', async () => {
    const s = await stream('claude-midstream');
    assert.equal(s.res.status, 200);
    assert.equal(s.content, 'Partial ');
    assert.equal(s.errors.length, 1, s.text);
    assert.equal(s.errors[0].message, MIDSTREAM_MESSAGE);
    assert.equal(s.errors[0].type, 'api_error');
  });

  it('refused before any call: image URLs, response_format, n > 1', async () => {
    const sent = upstream.requests.length;
    const image = await chat('claude-haiku', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    });
    assertOpenAIError(image, { status: 400, type: 'invalid_request_error' });
    assert.match(image.json.error.message, /Bedrock needs images inline as base64 data URLs/);
    const rf = await chat('claude-haiku', { response_format: { type: 'json_object' } });
    assertOpenAIError(rf, { status: 400, type: 'invalid_request_error', param: 'response_format' });
    const n = await chat('claude-haiku', { n: 2 });
    assertOpenAIError(n, { status: 400, param: 'n' });
    assert.equal(upstream.requests.length, sent, 'nothing reached Bedrock');
  });

  it('an inline image goes up as image bytes', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const r = await chat('claude-haiku', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'describe' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    assert.equal(r.status, 200, r.text);
    const rec = upstream.requestsFor(HAIKU).at(-1);
    assert.deepEqual(rec.body.messages[0].content[1], { image: { format: 'png', source: { bytes: png } } });
  });

  it('every signature verified; no AWS secret in any response, span or gateway log', async () => {
    // the one expected failure is the wrong secret's signature
    const bad = upstream.failures.filter((f) => !String(f.failure).includes('does not match'));
    assert.deepEqual(bad.map((f) => f.failure), []);
    assert.equal(upstream.requests.filter((q) => q.verified).length, upstream.requests.length - upstream.failures.length);
    for (const t of texts) assertNoSecrets(t, SECRETS, 'a response');
    await receiver.waitForSpans(1);
    assertNoSecretsInSpans(receiver.spans(), [...SECRETS, MASTER_KEY]);
    assertNoSecrets(gw.stderr, SECRETS, 'the gateway stderr');
  });
});

describe('bedrock provider without credentials or region', { timeout: 30_000 }, () => {
  let upstream;
  let gw;

  before(async () => {
    upstream = await startBedrockUpstream({ credentials: {} });
    gw = await startGateway({
      config: {
        model_list: [
          bedrockModel('no-creds', HAIKU, upstream.url, { aws_region_name: 'us-east-1' }),
          bedrockModel('no-region', HAIKU, upstream.url, { aws_access_key_id: PARAM_KEY, aws_secret_access_key: PARAM_SECRET }),
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0 },
      },
      env: otelEnv({
        OTEL_TRACES_EXPORTER: 'none',
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_REGION: undefined,
        AWS_DEFAULT_REGION: undefined,
        AWS_PROFILE: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_ROLE_ARN: undefined,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        // Nothing off this machine: no instance metadata, no shared files from the user running the tests.
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), 'switchyard-test-no-aws-credentials'),
        AWS_CONFIG_FILE: path.join(os.tmpdir(), 'switchyard-test-no-aws-config'),
      }),
    });
  });

  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('no credentials: a 500 naming the sources tried; no region: a 500 naming the settings', async () => {
    const r = await request(gw, '/v1/chat/completions', { key: MASTER_KEY, json: { model: 'no-creds', messages: [{ role: 'user', content: 'hi' }] } });
    assertOpenAIError(r, { status: 500, code: 'aws_credentials_unavailable' });
    for (const source of ['aws_access_key_id', 'AWS_ACCESS_KEY_ID', 'web identity', 'container', 'instance metadata']) assert.ok(r.json.error.message.includes(source), r.text);
    const nr = await request(gw, '/v1/chat/completions', { key: MASTER_KEY, json: { model: 'no-region', messages: [{ role: 'user', content: 'hi' }], stream: true } });
    assertOpenAIError(nr, { status: 500, code: 'missing_aws_region' });
    assert.ok(nr.json.error.message.includes('aws_region_name') && nr.json.error.message.includes('AWS_REGION'), nr.text);
    assertNoSecrets(r.text + nr.text + gw.stderr, [PARAM_SECRET], 'responses and stderr');
    assert.equal(upstream.requests.length, 0);
  });

  it('no gateway run logged an AWS secret', () => {
    assertNoSecrets(allGatewayStderr(), SECRETS, 'the stderr of every gateway');
  });
});
