// A loopback stand-in for Anthropic's Messages API (node:http on 127.0.0.1, port 0) for the gateway's anthropic/
// provider. It checks what a real Anthropic API would: the x-api-key and anthropic-version headers, and the shape
// of a Messages request (model, max_tokens, alternating user/assistant turns, no OpenAI-only fields, content
// blocks, tools, tool_choice); a request that is wrong gets Anthropic's 400 invalid_request_error naming the
// problem (kept in `problems`), so a test sees a translation mistake as a failure.
//
// Every request is recorded in `requests` ({method, url, headers, body, rawBody, problems}). The answer is chosen
// by a marker in the text of the last user turn:
//   (none)             text "Hello from Claude. You said: <text>", stop_reason end_turn
//   [[tool]]           text "Let me check." and a tool_use get_weather {"location":"Paris","unit":"celsius"}
//   [[max]]            text, stop_reason max_tokens
//   [[status-429]]     429 rate_limit_error with retry-after: 9
//   [[status-529]]     529 overloaded_error
//   [[status-500]]     500 api_error
//   [[too-long]]       400 invalid_request_error "prompt is too long: 250000 tokens > 200000 maximum"
//   [[leak]]           401 authentication_error whose message quotes the x-api-key it got
//   [[stream-error]]   (streams) message_start, one text delta, then an error event (overloaded_error)
// Usage: input_tokens 10 + words of the last user text, cache_read_input_tokens 3, cache_creation_input_tokens 2,
// output_tokens the words of the answer (see anthropicUsage()). Streams send every event in its own write.
import http from 'node:http';

export const ANTHROPIC_VERSION = '2023-06-01';
export const STANDIN_MODEL = 'claude-3-5-haiku-20241022';

const OPENAI_ONLY = [
  'n', 'stream_options', 'response_format', 'seed', 'frequency_penalty', 'presence_penalty', 'logit_bias', 'logprobs',
  'top_logprobs', 'parallel_tool_calls', 'user', 'stop', 'max_completion_tokens', 'functions', 'function_call',
  'num_retries', 'timeout', 'fallbacks',
];
const KNOWN = new Set([
  'model', 'messages', 'max_tokens', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'metadata',
  'tools', 'tool_choice',
]);

const words = (t) => String(t).split(/\s+/).filter(Boolean).length;

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b) => b && b.type === 'text')
    .map((b) => b.text)
    .join(' ');
}

export function lastUserText(body) {
  const msgs = body?.messages;
  if (!Array.isArray(msgs)) return '';
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]?.role === 'user') return textOf(msgs[i].content);
  return '';
}

/** The usage the stand-in reports for a request whose last user text is `text` and an answer `answer`. */
export function anthropicUsage(text, answer) {
  return { input_tokens: 10 + words(text), cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: Math.max(1, words(answer)) };
}

/** What a Messages request must look like; returns a list of problems (empty when fine). */
export function checkMessagesRequest(body) {
  const p = [];
  if (!body || typeof body !== 'object') return ['body is not a JSON object'];
  for (const k of Object.keys(body)) {
    if (OPENAI_ONLY.includes(k)) p.push(`${k}: OpenAI-only field sent to Anthropic`);
    else if (!KNOWN.has(k)) p.push(`${k}: Extra inputs are not permitted`);
  }
  if (typeof body.model !== 'string' || !body.model) p.push('model: Field required');
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) p.push('max_tokens: Field required (a positive integer)');
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) p.push('system: must be a string or text blocks');
  if (Array.isArray(body.system) && !body.system.every((b) => b?.type === 'text' && typeof b.text === 'string' && b.text)) {
    p.push('system: text blocks only');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    p.push('messages: at least one message is required');
    return p;
  }
  const toolUseIds = new Set();
  body.messages.forEach((m, i) => {
    if (m.role !== 'user' && m.role !== 'assistant') p.push(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    if (i > 0 && body.messages[i - 1].role === m.role) p.push(`messages: roles must alternate between "user" and "assistant"`);
    if (typeof m.content === 'string') {
      if (!m.content) p.push(`messages.${i}: text content blocks must be non-empty`);
      return;
    }
    if (!Array.isArray(m.content) || m.content.length === 0) {
      p.push(`messages.${i}.content: must be a string or a non-empty list of blocks`);
      return;
    }
    m.content.forEach((b, j) => {
      const where = `messages.${i}.content.${j}`;
      switch (b?.type) {
        case 'text':
          if (typeof b.text !== 'string' || !b.text) p.push(`${where}: text content blocks must be non-empty`);
          break;
        case 'image':
          if (!(b.source?.type === 'url' && typeof b.source.url === 'string') &&
              !(b.source?.type === 'base64' && typeof b.source.media_type === 'string' && typeof b.source.data === 'string')) {
            p.push(`${where}.source: invalid image source`);
          }
          break;
        case 'tool_use':
          if (m.role !== 'assistant') p.push(`${where}: tool_use blocks belong to assistant turns`);
          if (typeof b.id !== 'string' || typeof b.name !== 'string' || !b.input || typeof b.input !== 'object' || Array.isArray(b.input)) {
            p.push(`${where}: tool_use needs id, name and an input object`);
          }
          toolUseIds.add(b.id);
          break;
        case 'tool_result':
          if (m.role !== 'user') p.push(`${where}: tool_result blocks belong to user turns`);
          if (!toolUseIds.has(b.tool_use_id)) p.push(`${where}: tool_result for an unknown tool_use_id ${b.tool_use_id}`);
          break;
        default:
          p.push(`${where}.type: unknown content block type ${JSON.stringify(b?.type)}`);
      }
    });
  });
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) p.push('tools: must be a list');
    else {
      body.tools.forEach((t, i) => {
        if (typeof t?.name !== 'string' || !t.input_schema || typeof t.input_schema !== 'object') p.push(`tools.${i}: name and input_schema required`);
        if ('type' in t || 'function' in t) p.push(`tools.${i}: OpenAI tool shape sent to Anthropic`);
      });
    }
  }
  if (body.tool_choice !== undefined) {
    const tc = body.tool_choice;
    if (!tc || typeof tc !== 'object' || !['auto', 'any', 'tool', 'none'].includes(tc.type)) p.push('tool_choice: invalid');
    else if (tc.type === 'tool' && typeof tc.name !== 'string') p.push('tool_choice.name: Field required');
    if (!body.tools) p.push('tool_choice: tools required');
  }
  if (body.stop_sequences !== undefined && !(Array.isArray(body.stop_sequences) && body.stop_sequences.every((s) => typeof s === 'string'))) {
    p.push('stop_sequences: a list of strings');
  }
  if (body.metadata !== undefined && (typeof body.metadata !== 'object' || Object.keys(body.metadata).some((k) => k !== 'user_id'))) {
    p.push('metadata: only user_id');
  }
  return p;
}

function errorBody(type, message) {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_standin' });
}

export class AnthropicUpstream {
  constructor({ apiKey }) {
    this.apiKey = apiKey;
    this.requests = [];
    this._seq = 0;
    this.server = http.createServer((req, res) => this._handle(req, res).catch((e) => {
      try {
        res.destroy(e);
      } catch {}
    }));
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  /** The api_base for the gateway config (Anthropic's is the bare origin). */
  get apiBase() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The recorded request whose last user text contains `marker`. */
  requestWith(marker) {
    return this.requests.find((r) => lastUserText(r.body).includes(marker));
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  _json(res, status, body, headers = {}) {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_standin', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async _handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body = null;
    try {
      body = JSON.parse(rawBody);
    } catch {}
    const rec = { n: ++this._seq, method: req.method, url: req.url, headers: req.headers, rawBody, body, problems: [] };
    this.requests.push(rec);

    if (req.headers['x-api-key'] !== this.apiKey) {
      return this._json(res, 401, errorBody('authentication_error', 'invalid x-api-key'));
    }
    if (req.headers['anthropic-version'] !== ANTHROPIC_VERSION) {
      return this._json(res, 400, errorBody('invalid_request_error', `anthropic-version: unsupported ${req.headers['anthropic-version']}`));
    }
    if (req.headers.authorization !== undefined) rec.problems.push('an Authorization header was sent');
    if (req.method === 'POST' && req.url === '/v1/messages/count_tokens') {
      return this._json(res, 200, { input_tokens: 10 + words(lastUserText(body)) });
    }
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      return this._json(res, 404, errorBody('not_found_error', `${req.method} ${req.url} not found`));
    }
    rec.problems.push(...checkMessagesRequest(body));
    if (rec.problems.length) return this._json(res, 400, errorBody('invalid_request_error', rec.problems.join('; ')));

    const text = lastUserText(body);
    if (text.includes('[[status-429]]')) {
      return this._json(res, 429, errorBody('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': '9' });
    }
    if (text.includes('[[status-529]]')) return this._json(res, 529, errorBody('overloaded_error', 'Overloaded'));
    if (text.includes('[[status-500]]')) return this._json(res, 500, errorBody('api_error', 'Internal server error'));
    if (text.includes('[[too-long]]')) {
      return this._json(res, 400, errorBody('invalid_request_error', 'prompt is too long: 250000 tokens > 200000 maximum'));
    }
    if (text.includes('[[leak]]')) {
      return this._json(res, 401, errorBody('authentication_error', `invalid x-api-key: ${req.headers['x-api-key']}`));
    }

    const id = `msg_standin_${rec.n}`;
    const tool = text.includes('[[tool]]');
    const answer = tool ? 'Let me check.' : `Hello from Claude. You said: ${text}`;
    const usage = anthropicUsage(text, answer);
    const stopReason = tool ? 'tool_use' : text.includes('[[max]]') ? 'max_tokens' : 'end_turn';
    const toolBlock = { type: 'tool_use', id: `toolu_standin_${rec.n}`, name: 'get_weather', input: { location: 'Paris', unit: 'celsius' } };

    if (!body.stream) {
      const content = [{ type: 'text', text: answer }];
      if (tool) content.push(toolBlock);
      return this._json(res, 200, {
        id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage,
      });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    send('message_start', {
      message: {
        id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null,
        usage: { input_tokens: usage.input_tokens, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 1 },
      },
    });
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    send('ping', {});
    const pieces = answer.split(/(?<= )/);
    if (text.includes('[[stream-error]]')) {
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: pieces[0] } });
      res.write(`event: error\ndata: ${errorBody('overloaded_error', 'Overloaded')}\n\n`);
      return res.end();
    }
    for (const piece of pieces) send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } });
    send('content_block_stop', { index: 0 });
    if (tool) {
      send('content_block_start', { index: 1, content_block: { ...toolBlock, input: {} } });
      for (const partial of ['', '{"location":', ' "Paris", "unit"', ': "celsius"}']) {
        send('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: partial } });
      }
      send('content_block_stop', { index: 1 });
    }
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    send('message_stop', {});
    res.end();
  }
}

export async function startAnthropicUpstream(options) {
  return new AnthropicUpstream(options).listen();
}
