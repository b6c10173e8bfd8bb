// An OpenAI-compatible mock upstream for the gateway's openai/ provider: node:http on 127.0.0.1, port 0.
//
// Every request is recorded in `requests` ({method, path, headers, body, rawBody, time, model, closedAt, ...}).
// The behaviour is chosen by the upstream model id in the request body ("model"):
//   ok               echo completion with realistic usage (also /completions and /embeddings; stream too)
//   status-<code>    that HTTP status with an OpenAI error body, message "upstream says no"
//   slow-<ms>        like ok, answered after <ms> milliseconds
//   garbage-<code>   that HTTP status with an HTML body (not JSON)
//   chunked          like ok, but a non-stream JSON body is sent with Transfer-Encoding: chunked, in pieces
//   stream-split     SSE like ok, written in 7-byte slices on separate ticks, with a ": keep-alive" comment
//   stream-split-crlf  the same with CRLF line ends
//   stream-coalesced SSE like ok, every event in one single write
//   stream-nospace   SSE like ok, written as "data:{...}" (no space after the colon, as SSE allows)
//   close-after      like ok, with Connection: close (the connection must not be reused)
//   stream-gated     SSE: one chunk, then waits for release(), then the rest and [DONE]
//   stream-forever   SSE: a chunk every 50 ms until the downstream closes (counted in closedConnections)
//   stream-break     SSE: two chunks, then the socket is destroyed
//   stream-nodone    SSE: two chunks without a finish_reason, then the response ends cleanly without [DONE]
//   stream-paced     SSE in three writes, each of the later two after release(): chunks p1-p3 in one write, then
//                    chunk p4, then chunk p5, the finish chunk and [DONE] with the end of the body (res.end).
//                    The record's `writes` counts the writes made so far.
// For the router (a trailing "-<tag>" of letters and digits makes a distinct model id with the same behaviour,
// so deployments of one group can share this upstream and still be counted apart with requestsFor()):
//   status-<code>-ra<s> / status-<code>-nora   that status with Retry-After: <s> (decimal seconds), or without one
//                    (plain status-<code> sends Retry-After: 7 on 429 and 503 only)
//   fail-<n>-<what>[-ra<s>|-nora][-<tag>]   the first n requests of this exact model id fail as <what>, later
//                    ones answer like ok. <what>: a 3-digit status (OpenAI error body), reset, hang, headbreak.
//                    The count is per model id; resetCounters() starts every count again.
//   reset            the request is read, then the connection is reset without an answer
//   hang             never answers; the request stays open until the gateway closes it (closedAt is set then)
//   gated            like ok (stream too), answered only once release() is called
//   headbreak        SSE response head and a comment, then the connection is reset: no event at all
//   ctx-400          400 invalid_request_error, code context_length_exceeded, param messages
//   filter-400       400 invalid_request_error, code content_filter (Azure's content filter refusal)
//   stream-fail-after-1  SSE: one chunk, then an OpenAI error event ({"error":{...}}), then the end
// For learned routing's embeddings:
//   embed-parity[-<tag>]  like ok, but /embeddings answers parityEmbedding(input): it tells texts whose last number
//                    is even from those where it is odd, which the gateway's built-in featurizer cannot
// For tool use (the Anthropic dialect's tests):
//   tool-call        with `tools` in the request: "Calling <name>." and one call of the first tool with arguments
//                    {"echo": <last user text>} (finish_reason tool_calls; usage with 4 cached prompt tokens); the
//                    stream sends the text, the call's id and name, then its arguments in two pieces. Without
//                    tools, like ok.
// Streams append a usage chunk (choices: []) when stream_options.include_usage is true.
import http from 'node:http';
import { EventEmitter } from 'node:events';

export const UPSTREAM_ERROR_MESSAGE = 'upstream says no';
const CREATED = 1_700_000_000;

function lastUserText(messages) {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') {
      if (typeof m.content === 'string') return m.content;
      if (Array.isArray(m.content)) {
        return m.content
          .filter((p) => p && p.type === 'text')
          .map((p) => p.text)
          .join(' ');
      }
      return '';
    }
  }
  return '';
}

function countTokens(text) {
  return Math.max(1, String(text).split(/\s+/).filter(Boolean).length);
}

/** Deterministic 8-dimensional vector for a string. */
export function upstreamEmbedding(text) {
  let h = 2166136261;
  for (const ch of String(text)) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  const v = [];
  for (let i = 0; i < 8; i++) {
    h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
    v.push(Math.fround((h / 0xffffffff) * 2 - 1));
  }
  return v;
}

/**
 * A 4-dimensional embedding that "understands" numbers: [1, 0, ...] when the text's last number is even, [0, 1, ...]
 * when it is odd, [0, 0, 1, 0] without a number; the last two dimensions carry a little noise of the text's own.
 */
export function parityEmbedding(text) {
  const numbers = String(text).match(/\d+/g);
  const noise = upstreamEmbedding(text).slice(0, 2).map((x) => Math.fround(x / 10));
  if (!numbers) return [0, 0, 1, 0];
  const even = BigInt(numbers[numbers.length - 1]) % 2n === 0n;
  return even ? [1, 0, ...noise] : [0, 1, ...noise];
}

export class MockUpstream extends EventEmitter {
  constructor({ keepAliveTimeoutMs = 5000 } = {}) {
    super();
    this.requests = [];
    this.connectionsOpened = 0; // TCP connections the gateway opened to us
    this.connectionsClosed = 0;
    this.closedConnections = 0; // stream-forever streams whose downstream connection closed
    this._gateWaiters = new Set();
    this._timers = new Set();
    this._seq = 0;
    this._counts = new Map(); // model id -> requests seen, for fail-<n>-<what>
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = keepAliveTimeoutMs;
    this.server.on('connection', (sock) => {
      this.connectionsOpened++;
      sock.on('close', () => this.connectionsClosed++);
    });
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  /** The api_base for the gateway config. */
  get apiBase() {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Number of stream-gated and gated requests currently waiting for release(). */
  get gatedWaiting() {
    return this._gateWaiters.size;
  }

  /** Lets every stream-gated and gated request that is waiting continue. Returns how many were released. */
  release() {
    const waiters = [...this._gateWaiters];
    this._gateWaiters.clear(); // before calling them: a waiter may wait again (stream-paced)
    for (const w of waiters) w();
    return waiters.length;
  }

  /** Forgets how many requests each fail-<n>-<what> model id has seen: each fails n times again. */
  resetCounters() {
    this._counts.clear();
  }

  /** Requests whose body.model matched `model` (string or RegExp). */
  requestsFor(model) {
    return this.requests.filter((r) => (model instanceof RegExp ? model.test(r.model ?? '') : r.model === model));
  }

  /** Polls (bounded) until a request matching `pred` has been recorded; resolves it. */
  async waitForRequest(pred, { timeoutMs = 5000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.requests.find(pred);
      if (r) return r;
      if (Date.now() >= deadline) throw new Error(`mock upstream: no matching request within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Polls (bounded) until closedConnections >= n; resolves the elapsed time. */
  async waitForClosedConnections(n, { timeoutMs = 3000 } = {}) {
    const start = Date.now();
    for (;;) {
      if (this.closedConnections >= n) return Date.now() - start;
      if (Date.now() - start >= timeoutMs) {
        throw new Error(
          `mock upstream: ${this.closedConnections} stream-forever connection(s) closed, wanted ${n}, within ${timeoutMs} ms`,
        );
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  async close() {
    this.release();
    for (const t of this._timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this._timers.clear();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  _setTimeout(fn, ms) {
    const t = setTimeout(() => {
      this._timers.delete(t);
      fn();
    }, ms);
    this._timers.add(t);
    return t;
  }

  _setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    this._timers.add(t);
    return t;
  }

  _clear(t) {
    clearTimeout(t);
    clearInterval(t);
    this._timers.delete(t);
  }

  async _handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body = null;
    try {
      body = JSON.parse(rawBody);
    } catch {}
    const rec = {
      n: ++this._seq,
      method: req.method,
      url: req.url,
      path: req.url.split('?')[0],
      headers: req.headers,
      rawBody,
      body,
      model: body?.model,
      time: Date.now(),
      closedAt: null,
      finishedAt: null,
    };
    this.requests.push(rec);
    this.emit('request', rec);
    res.on('close', () => {
      rec.closedAt = Date.now();
    });
    res.on('finish', () => {
      rec.finishedAt = Date.now();
    });

    const model = typeof body?.model === 'string' ? body.model : '';
    const p = rec.path;
    const kind = p.endsWith('/chat/completions')
      ? 'chat'
      : p.endsWith('/completions')
        ? 'completions'
        : p.endsWith('/embeddings')
          ? 'embeddings'
          : p.endsWith('/models')
            ? 'models'
            : null;

    if (kind === 'models' && req.method === 'GET') {
      return this._json(res, 200, {
        object: 'list',
        data: [{ id: 'ok', object: 'model', created: CREATED, owned_by: 'mock-upstream' }],
      });
    }
    if (!kind || req.method !== 'POST') {
      return this._json(res, 404, {
        error: { message: `mock upstream: no route ${req.method} ${p}`, type: 'invalid_request_error', param: null, code: null },
      });
    }
    if (!body || typeof body !== 'object') {
      return this._json(res, 400, {
        error: { message: 'mock upstream: body is not JSON', type: 'invalid_request_error', param: null, code: null },
      });
    }

    let m;
    const seen = (this._counts.get(model) ?? 0) + 1;
    this._counts.set(model, seen);
    rec.seenForModel = seen;
    if ((m = /^fail-(\d+)-(\d{3}|reset|hang|headbreak)(?:-ra([0-9.]+)|-(nora))?(?:-[A-Za-z0-9]+)*$/.exec(model))) {
      if (seen <= Number(m[1])) {
        const what = m[2];
        if (what === 'reset') return this._reset(req, rec);
        if (what === 'hang') return this._hang(res, rec);
        if (what === 'headbreak') return this._headBreak(res, rec);
        return this._error(res, Number(what), { retryAfter: m[3], noRetryAfter: !!m[4] });
      }
      return this._ok(kind, body, res, rec);
    }
    if ((m = /^status-(\d{3})(?:-ra([0-9.]+)|-(nora))?(?:-[A-Za-z0-9]+)*$/.exec(model))) {
      return this._error(res, Number(m[1]), { retryAfter: m[2], noRetryAfter: !!m[3] });
    }
    if (/^reset(?:-[A-Za-z0-9]+)*$/.test(model)) return this._reset(req, rec);
    if (/^hang(?:-[A-Za-z0-9]+)*$/.test(model)) return this._hang(res, rec);
    if (/^headbreak(?:-[A-Za-z0-9]+)*$/.test(model)) return this._headBreak(res, rec);
    if (/^gated(?:-[A-Za-z0-9]+)*$/.test(model)) return this._gated(kind, body, res, rec);
    if (/^ctx-400(?:-[A-Za-z0-9]+)*$/.test(model)) {
      return this._json(res, 400, {
        error: {
          message: "This model's maximum context length is 16 tokens. However, your messages resulted in more tokens.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      });
    }
    if (/^filter-400(?:-[A-Za-z0-9]+)*$/.test(model)) {
      return this._json(res, 400, {
        error: {
          message: "The response was filtered due to the prompt triggering the content management policy.",
          type: 'invalid_request_error',
          param: 'prompt',
          code: 'content_filter',
        },
      });
    }
    if (/^stream-fail-after-1(?:-[A-Za-z0-9]+)*$/.test(model)) return this._streamFailAfterOne(body, res, rec);
    if (/^tool-call(?:-[A-Za-z0-9]+)*$/.test(model) && kind === 'chat' && Array.isArray(body.tools) && body.tools.length) {
      return this._toolCall(body, res, rec);
    }
    if ((m = /^garbage-(\d{3})$/.exec(model))) {
      const text = '<html><body>oops, not JSON</body></html>';
      res.writeHead(Number(m[1]), { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) });
      return res.end(text);
    }
    if ((m = /^slow-(\d+)(?:-[A-Za-z0-9]+)*$/.exec(model))) {
      const t = this._setTimeout(() => {
        if (!res.destroyed) this._ok(kind, body, res, rec);
      }, Number(m[1]));
      res.on('close', () => this._clear(t));
      return;
    }
    if (model === 'close-after') res.setHeader('connection', 'close');
    if (model === 'chunked' && kind !== 'embeddings' && !body.stream) return this._ok(kind, body, res, rec, { chunked: true });
    if (/^stream-(split|split-crlf|coalesced|nospace)$/.test(model)) return this._ok(kind, { ...body, stream: true }, res, rec, { sse: model });
    if (model === 'stream-gated') return this._streamGated(body, res, rec);
    if (model === 'stream-forever') return this._streamForever(body, res, rec);
    if (model === 'stream-break') return this._streamBreak(body, res, rec);
    if (model === 'stream-nodone') return this._streamNoDone(body, res, rec);
    if (model === 'stream-paced') return this._streamPaced(body, res, rec);
    return this._ok(kind, body, res, rec);
  }

  _json(res, status, obj, headers = {}, { chunked = false } = {}) {
    const text = JSON.stringify(obj);
    if (chunked) {
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream-request': 'mock', ...headers });
      const third = Math.ceil(text.length / 3);
      res.write(text.slice(0, third));
      res.write(text.slice(third, 2 * third));
      res.end(text.slice(2 * third));
      return;
    }
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-upstream-request': 'mock',
      ...headers,
    });
    res.end(text);
  }

  _error(res, status, { retryAfter, noRetryAfter = false } = {}) {
    const type =
      status === 401
        ? 'authentication_error'
        : status === 429
          ? 'rate_limit_error'
          : status >= 500
            ? 'server_error'
            : 'invalid_request_error';
    let headers = status === 429 || status === 503 ? { 'retry-after': '7' } : {};
    if (retryAfter !== undefined) headers = { 'retry-after': retryAfter };
    if (noRetryAfter) headers = {};
    this._json(res, status, { error: { message: UPSTREAM_ERROR_MESSAGE, type, param: null, code: `upstream_${status}` } }, headers);
  }

  _usage(prompt, completion) {
    const p = 7 + countTokens(prompt);
    const c = countTokens(completion);
    return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
  }

  _ok(kind, body, res, rec, opts = {}) {
    const id = `${kind === 'chat' ? 'chatcmpl' : kind === 'completions' ? 'cmpl' : 'emb'}-up-${rec.n}`;
    if (kind === 'chat') {
      const user = lastUserText(body.messages);
      const content = `upstream echo: ${user}`;
      if (body.stream) {
        return this._sse(body, res, rec, id, ['upstream ', 'echo: ', user], user, opts.sse);
      }
      return this._json(res, 200, {
        id,
        object: 'chat.completion',
        created: CREATED,
        model: body.model,
        system_fingerprint: 'fp_mock_upstream',
        choices: [
          { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' },
        ],
        usage: this._usage(user, content),
      }, {}, opts);
    }
    if (kind === 'completions') {
      const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt ?? '');
      const text = ` upstream completion of: ${prompt}`;
      if (body.stream) {
        // Legacy completions stream: text_completion chunks.
        this._sseHead(res);
        for (const piece of [' upstream completion', ' of: ', prompt]) {
          res.write(
            `data: ${JSON.stringify({ id, object: 'text_completion', created: CREATED, model: body.model, choices: [{ text: piece, index: 0, logprobs: null, finish_reason: null }] })}\n\n`,
          );
        }
        res.write(
          `data: ${JSON.stringify({ id, object: 'text_completion', created: CREATED, model: body.model, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }] })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
        return;
      }
      return this._json(res, 200, {
        id,
        object: 'text_completion',
        created: CREATED,
        model: body.model,
        choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
        usage: this._usage(prompt, text),
      }, {}, opts);
    }
    // embeddings
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const base64 = body.encoding_format === 'base64';
    const embed = /^embed-parity(?:-[A-Za-z0-9]+)*$/.test(body.model) ? parityEmbedding : upstreamEmbedding;
    const data = inputs.map((inp, index) => {
      const v = embed(typeof inp === 'string' ? inp : JSON.stringify(inp));
      return {
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
      };
    });
    const tokens = inputs.reduce((n, i) => n + countTokens(typeof i === 'string' ? i : JSON.stringify(i)), 0);
    return this._json(res, 200, {
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  _sseHead(res) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-upstream-request': 'mock' });
    res.flushHeaders();
  }

  _chunk(id, model, delta, finish_reason = null, withUsageNull = false) {
    const c = {
      id,
      object: 'chat.completion.chunk',
      created: CREATED,
      model,
      system_fingerprint: 'fp_mock_upstream',
      choices: [{ index: 0, delta, logprobs: null, finish_reason }],
    };
    if (withUsageNull) c.usage = null;
    return `data: ${JSON.stringify(c)}\n\n`;
  }

  _usageChunk(id, model, usage) {
    return `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: CREATED, model, system_fingerprint: 'fp_mock_upstream', choices: [], usage })}\n\n`;
  }

  _finish(body, res, id, promptText, content) {
    const includeUsage = !!body.stream_options?.include_usage;
    res.write(this._chunk(id, body.model, {}, 'stop', includeUsage));
    if (includeUsage) res.write(this._usageChunk(id, body.model, this._usage(promptText, content)));
    res.end('data: [DONE]\n\n');
  }

  /** A complete stream of `pieces` (first chunk carries the role). `style`: how the bytes are written. */
  _sse(body, res, rec, id, pieces, promptText, style) {
    const includeUsage = !!body.stream_options?.include_usage;
    this._sseHead(res);
    if (!style) {
      res.write(this._chunk(id, body.model, { role: 'assistant', content: '' }, null, includeUsage));
      for (const piece of pieces) res.write(this._chunk(id, body.model, { content: piece }, null, includeUsage));
      this._finish(body, res, id, promptText, pieces.join(''));
      return;
    }
    // Build the whole stream as text, then write it coalesced or in small slices.
    let text = ': keep-alive\n\n';
    text += this._chunk(id, body.model, { role: 'assistant', content: '' }, null, includeUsage);
    for (const piece of pieces) text += this._chunk(id, body.model, { content: piece }, null, includeUsage);
    text += this._chunk(id, body.model, {}, 'stop', includeUsage);
    if (includeUsage) text += this._usageChunk(id, body.model, this._usage(promptText, pieces.join('')));
    text += 'data: [DONE]\n\n';
    if (style === 'stream-split-crlf') text = text.replace(/\n/g, '\r\n');
    if (style === 'stream-nospace') text = text.replace(/^data: /gm, 'data:');
    if (style === 'stream-coalesced' || style === 'stream-nospace') {
      res.end(text);
      return;
    }
    const bytes = Buffer.from(text);
    let off = 0;
    const step = () => {
      if (res.destroyed) return;
      if (off >= bytes.length) return res.end();
      const slice = bytes.subarray(off, off + 7);
      off += 7;
      res.write(slice, () => this._setTimeout(step, 1));
    };
    step();
  }

  _streamGated(body, res, rec) {
    const includeUsage = !!body.stream_options?.include_usage;
    const id = `chatcmpl-up-${rec.n}`;
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: 'gated-first ' }, null, includeUsage));
    rec.firstChunkAt = Date.now();
    const gate = () => {
      rec.releasedAt = Date.now();
      if (res.destroyed) return;
      res.write(this._chunk(id, body.model, { content: 'gated-second ' }, null, includeUsage));
      res.write(this._chunk(id, body.model, { content: 'gated-third' }, null, includeUsage));
      this._finish(body, res, id, lastUserText(body.messages), 'gated-first gated-second gated-third');
    };
    this._gateWaiters.add(gate);
    res.on('close', () => this._gateWaiters.delete(gate));
  }

  _streamPaced(body, res, rec) {
    const includeUsage = !!body.stream_options?.include_usage;
    const id = `chatcmpl-up-${rec.n}`;
    const chunk = (n) =>
      this._chunk(id, body.model, n === 1 ? { role: 'assistant', content: 'p1 ' } : { content: `p${n} ` }, null, includeUsage);
    const batches = [
      () => res.write(chunk(1) + chunk(2) + chunk(3)),
      () => res.write(chunk(4)),
      () => {
        let text = chunk(5) + this._chunk(id, body.model, {}, 'stop', includeUsage);
        if (includeUsage) text += this._usageChunk(id, body.model, this._usage(lastUserText(body.messages), 'p1 p2 p3 p4 p5 '));
        res.end(text + 'data: [DONE]\n\n');
      },
    ];
    rec.writes = 0;
    const next = () => {
      if (res.destroyed) return;
      batches[rec.writes]();
      rec.writes++;
      if (rec.writes < batches.length) this._gateWaiters.add(next);
    };
    res.on('close', () => this._gateWaiters.delete(next));
    this._sseHead(res);
    next();
  }

  _streamForever(body, res, rec) {
    const id = `chatcmpl-up-${rec.n}`;
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: 'tick-0 ' }));
    rec.chunksSent = 1;
    const maxTicks = 1200; // a hard cap of about a minute, in case nobody ever closes
    const iv = this._setInterval(() => {
      if (res.destroyed || rec.chunksSent >= maxTicks) {
        this._clear(iv);
        if (!res.destroyed) res.destroy();
        return;
      }
      res.write(this._chunk(id, body.model, { content: `tick-${rec.chunksSent} ` }));
      rec.chunksSent++;
    }, 50);
    res.on('close', () => {
      this._clear(iv);
      rec.downstreamClosedAt = Date.now();
      this.closedConnections++;
      this.emit('stream-closed', rec);
    });
  }

  /** The request was read: reset the connection (RST) without answering. */
  _reset(req, rec) {
    rec.resetAt = Date.now();
    const sock = req.socket;
    if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
    else sock.destroy();
  }

  /** Never answers; closedAt is set when the gateway gives up on the request. */
  _hang(res, rec) {
    rec.hung = true;
    res.on('close', () => this.emit('hang-closed', rec));
  }

  /** The SSE head and a comment, then a reset: the gateway saw a 200 but no event. */
  _headBreak(res, rec) {
    this._sseHead(res);
    res.write(': keep-alive\n\n', () => {
      rec.brokenAt = Date.now();
      const sock = res.socket;
      if (!sock) return;
      if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
    });
  }

  /** Like ok, once release() is called. */
  _gated(kind, body, res, rec) {
    const gate = () => {
      rec.releasedAt = Date.now();
      if (!res.destroyed) this._ok(kind, body, res, rec);
    };
    this._gateWaiters.add(gate);
    res.on('close', () => this._gateWaiters.delete(gate));
  }

  /** One chunk, then an error event in OpenAI's shape, then the end of the response. */
  _streamFailAfterOne(body, res, rec) {
    const id = `chatcmpl-up-${rec.n}`;
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: 'only-one ' }));
    const error = { error: { message: 'upstream stream failed', type: 'server_error', param: null, code: 'upstream_stream_error' } };
    res.write(`data: ${JSON.stringify(error)}\n\n`, () => {
      rec.failedAt = Date.now();
      res.end();
    });
  }

  /** One call of the request's first tool, whole or streamed (see tool-call in the header). */
  _toolCall(body, res, rec) {
    const id = `chatcmpl-up-${rec.n}`;
    const name = body.tools[0]?.function?.name ?? 'unknown';
    const user = lastUserText(body.messages);
    const text = `Calling ${name}.`;
    const args = JSON.stringify({ echo: user });
    const callId = `call_up_${rec.n}`;
    const usage = { ...this._usage(user, `${text} ${args}`), prompt_tokens_details: { cached_tokens: 4 } };
    usage.prompt_tokens += 4;
    usage.total_tokens += 4;
    if (!body.stream) {
      return this._json(res, 200, {
        id,
        object: 'chat.completion',
        created: CREATED,
        model: body.model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: text,
              refusal: null,
              tool_calls: [{ id: callId, type: 'function', function: { name, arguments: args } }],
            },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage,
      });
    }
    const includeUsage = !!body.stream_options?.include_usage;
    const half = Math.floor(args.length / 2);
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: '' }, null, includeUsage));
    res.write(this._chunk(id, body.model, { content: text }, null, includeUsage));
    res.write(
      this._chunk(id, body.model, { tool_calls: [{ index: 0, id: callId, type: 'function', function: { name, arguments: '' } }] }, null, includeUsage),
    );
    res.write(this._chunk(id, body.model, { tool_calls: [{ index: 0, function: { arguments: args.slice(0, half) } }] }, null, includeUsage));
    res.write(this._chunk(id, body.model, { tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }, null, includeUsage));
    res.write(this._chunk(id, body.model, {}, 'tool_calls', includeUsage));
    if (includeUsage) res.write(this._usageChunk(id, body.model, usage));
    res.end('data: [DONE]\n\n');
  }

  _streamBreak(body, res, rec) {
    const id = `chatcmpl-up-${rec.n}`;
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: 'break-one ' }));
    res.write(this._chunk(id, body.model, { content: 'break-two ' }), () => {
      // Give the two chunks a moment on the wire, then break the connection without ending the response.
      this._setTimeout(() => {
        rec.brokenAt = Date.now();
        res.socket?.destroy();
      }, 30);
    });
  }

  _streamNoDone(body, res, rec) {
    const id = `chatcmpl-up-${rec.n}`;
    this._sseHead(res);
    res.write(this._chunk(id, body.model, { role: 'assistant', content: 'cut-one ' }));
    res.write(this._chunk(id, body.model, { content: 'cut-two ' }));
    res.end();
  }
}

export async function startMockUpstream(options = {}) {
  const u = new MockUpstream(options);
  await u.listen();
  return u;
}
