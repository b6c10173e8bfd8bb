// End-to-end: the official SDKs against model names backed by each translating provider — Anthropic, AWS Bedrock
// and Azure OpenAI — through loopback stand-ins of their APIs. The `openai` SDK uses /v1/chat/completions (whole,
// streamed, with tools and usage); `@anthropic-ai/sdk` uses /v1/messages, which routes to the same deployments.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway, MASTER_KEY } from '../integration/lib/gateway.mjs';
import { startMockUpstream } from '../integration/lib/mock_upstream.mjs';
import { startAnthropicUpstream } from '../integration/lib/anthropic_upstream.mjs';
import { startBedrockUpstream } from '../integration/lib/bedrock_upstream.mjs';

const ANTHROPIC_KEY = 'sk-ant-e2e-0123456789';
const AWS_KEY_ID = 'AKIAE2ETESTKEY000001';
const AWS_SECRET = 'e2e-aws-secret-access-key-0123456789';
const AZURE_KEY = 'azure-e2e-key-0123456789';

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

describe('SDKs against Anthropic, Bedrock and Azure deployments', { timeout: 90_000 }, () => {
  let gw;
  let anthropic;
  let bedrock;
  let azure;
  let openai;
  let claude;

  before(async () => {
    anthropic = await startAnthropicUpstream({ apiKey: ANTHROPIC_KEY });
    bedrock = await startBedrockUpstream({ credentials: { [AWS_KEY_ID]: { secretAccessKey: AWS_SECRET } } });
    azure = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [
          {
            model_name: 'via-anthropic',
            litellm_params: { model: 'anthropic/claude-3-5-haiku-20241022', api_base: anthropic.apiBase, api_key: ANTHROPIC_KEY },
          },
          {
            model_name: 'via-bedrock',
            litellm_params: {
              model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0',
              api_base: bedrock.url,
              aws_region_name: 'us-east-1',
              aws_access_key_id: AWS_KEY_ID,
              aws_secret_access_key: AWS_SECRET,
            },
          },
          {
            model_name: 'via-bedrock-tools',
            litellm_params: {
              model: 'bedrock/anthropic.tooluse-v1:0',
              api_base: bedrock.url,
              aws_region_name: 'us-east-1',
              aws_access_key_id: AWS_KEY_ID,
              aws_secret_access_key: AWS_SECRET,
            },
          },
          {
            model_name: 'via-azure',
            litellm_params: { model: 'azure/ok', api_base: `http://127.0.0.1:${azure.port}`, api_key: AZURE_KEY },
          },
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: { num_retries: 0 },
      },
    });
    openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: gw.baseURL, maxRetries: 0, timeout: 10_000 });
    claude = new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.origin, maxRetries: 0, timeout: 10_000 });
  });
  after(async () => {
    await gw?.stop();
    await anthropic?.close();
    await bedrock?.close();
    await azure?.close();
  });

  for (const model of ['via-anthropic', 'via-bedrock', 'via-azure']) {
    it(`${model}: chat.completions.create answers with usage`, { timeout: 15_000 }, async () => {
      const c = await openai.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: `Hello ${model} kestrel-7` },
        ],
        max_tokens: 64,
      });
      assert.equal(c.object, 'chat.completion');
      assert.equal(c.model, model);
      assert.match(c.choices[0].message.content, /kestrel-7/);
      assert.equal(c.choices[0].finish_reason, 'stop');
      assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0, JSON.stringify(c.usage));
      assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    });

    it(`${model}: a stream with include_usage`, { timeout: 15_000 }, async () => {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: `Stream it ${model} osprey-3` }],
        max_tokens: 64,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish;
      let usage;
      for await (const chunk of stream) {
        assert.equal(chunk.model, model);
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          text += choice.delta?.content ?? '';
          finish = choice.finish_reason ?? finish;
        }
      }
      assert.match(text, /osprey-3/);
      assert.equal(finish, 'stop');
      assert.ok(usage && usage.completion_tokens > 0, 'a usage chunk');
    });
  }

  for (const [model, marker] of [['via-anthropic', ' [[tool]]'], ['via-bedrock-tools', '']]) {
    it(`${model}: tools come back as tool_calls, whole and streamed`, { timeout: 15_000 }, async () => {
      const messages = [{ role: 'user', content: `What is the weather in Paris?${marker}` }];
      const c = await openai.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], max_tokens: 128 });
      assert.equal(c.choices[0].finish_reason, 'tool_calls');
      const call = c.choices[0].message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.ok(call.id);
      assert.equal(typeof JSON.parse(call.function.arguments), 'object');

      const stream = await openai.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], max_tokens: 128, stream: true });
      const args = new Map();
      let finish;
      for await (const chunk of stream) {
        for (const choice of chunk.choices) {
          for (const tc of choice.delta?.tool_calls ?? []) {
            args.set(tc.index, (args.get(tc.index) ?? '') + (tc.function?.arguments ?? ''));
          }
          finish = choice.finish_reason ?? finish;
        }
      }
      assert.equal(finish, 'tool_calls');
      assert.deepEqual(JSON.parse(args.get(0)), JSON.parse(call.function.arguments));
    });
  }

  for (const model of ['via-anthropic', 'via-bedrock', 'via-azure']) {
    it(`@anthropic-ai/sdk messages.create and messages.stream routed to ${model}`, { timeout: 15_000 }, async () => {
      const m = await claude.messages.create({
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: `Hi from the Anthropic SDK ${model} plover-9` }],
      });
      assert.equal(m.type, 'message');
      assert.equal(m.role, 'assistant');
      assert.match(m.content.map((b) => b.text ?? '').join(''), /plover-9/);
      assert.equal(m.stop_reason, 'end_turn');
      assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));

      const stream = claude.messages.stream({
        model,
        max_tokens: 64,
        messages: [{ role: 'user', content: `Stream from the Anthropic SDK ${model} grebe-4` }],
      });
      const final = await stream.finalMessage();
      assert.match(final.content.map((b) => b.text ?? '').join(''), /grebe-4/);
      assert.ok(final.usage.output_tokens > 0);
    });
  }

  it('@anthropic-ai/sdk countTokens: Anthropic counts for an Anthropic deployment, the gateway estimates otherwise', { timeout: 15_000 }, async () => {
    const messages = [{ role: 'user', content: 'count these five words please' }];
    const counted = await claude.messages.countTokens({ model: 'via-anthropic', messages });
    assert.equal(counted.input_tokens, 10 + 5, 'the stand-in counts 10 + the words of the last user turn');
    const estimated = await claude.messages.countTokens({ model: 'via-bedrock', messages });
    assert.ok(estimated.input_tokens > 0 && estimated.input_tokens !== 15, JSON.stringify(estimated));
  });

  it('an upstream error reaches the openai SDK as its typed error', { timeout: 15_000 }, async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'via-anthropic', messages: [{ role: 'user', content: 'limit [[status-429]]' }] }),
      (e) => e instanceof OpenAI.RateLimitError && e.status === 429,
    );
  });
});
