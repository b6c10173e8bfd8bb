// A loopback stand-in for the Bedrock runtime's Converse API (node:http on 127.0.0.1, port 0), for the gateway's
// bedrock/ provider.
//
// Every request is checked the way AWS checks it, with an implementation of its own (node:crypto, from the SigV4
// specification, independent of the gateway's C++ signer): the Authorization header is parsed, the canonical
// request is rebuilt from what arrived on the wire (method, the path as received, each segment URI-encoded once
// more, the query, the signed headers, the SHA-256 of the body), the signature is recomputed with the secret of
// the access key id and compared. The session token of temporary credentials must be sent and signed. A request
// that fails is answered as AWS would (403 InvalidSignatureException echoing the canonical request it expected,
// including the session token, or UnrecognizedClientException) and recorded in `failures`.
// The path must be /model/<model id, URI-encoded>/converse or /converse-stream.
//
// Every request is recorded in `requests` ({method, rawPath, modelId, operation, headers, body, rawBody,
// accessKeyId, region, signedHeaders, verified, failure}).
//
// The behaviour is chosen by words in the model id:
//   (default)        a text answer: "You said: <last user text>", usage inputTokens 7 + words, outputTokens words
//   tooluse          a toolUse of the first tool of toolConfig with input {"city":"Paris"}, stopReason tool_use
//                    (when the last user turn holds toolResults instead: a text answer naming them)
//   throttle         429 ThrottlingException, Retry-After: 1
//   toolong          400 ValidationException "Input is too long for requested model."
//   denied           403 AccessDeniedException
//   midstream        stream: messageStart, one text delta, then a modelStreamErrorException frame
// Streams are written frame by frame on separate ticks, one frame split across two writes, with the padding
// field "p" Bedrock adds to each event.
import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export const THROTTLE_MESSAGE = 'Too many requests, please wait before trying again.';
export const TOO_LONG_MESSAGE = 'Input is too long for requested model.';
export const MIDSTREAM_MESSAGE = 'The model stream broke mid-answer.';
export const DENIED_MESSAGE = "You don't have access to the model with the specified model ID.";

// ---------------------------------------------------------------------------------------------------------------
// Event stream encoding (application/vnd.amazon.eventstream)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as the event stream's prelude and message checksums use; node:zlib's when it has one. */
export function crc32(buf) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf) >>> 0;
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One event-stream frame with string headers ({name: value}) and a payload (string or Buffer). */
export function encodeFrame(headers, payload) {
  const parts = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(String(value), 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(7, 1 + n.length); // string
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    parts.push(h);
  }
  const headerBytes = Buffer.concat(parts);
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const total = 12 + headerBytes.length + body.length + 4;
  const frame = Buffer.alloc(total);
  frame.writeUInt32BE(total, 0);
  frame.writeUInt32BE(headerBytes.length, 4);
  frame.writeUInt32BE(crc32(frame.subarray(0, 8)), 8);
  headerBytes.copy(frame, 12);
  body.copy(frame, 12 + headerBytes.length);
  frame.writeUInt32BE(crc32(frame.subarray(0, total - 4)), total - 4);
  return frame;
}

const padding = (n) => 'abcdefghijklmnopqrstuvwxyz'.slice(0, n);

export function eventFrame(type, payload) {
  return encodeFrame(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify({ ...payload, p: padding(1 + (type.length % 20)) }),
  );
}

export function exceptionFrame(type, message) {
  return encodeFrame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify({ message }));
}

// ---------------------------------------------------------------------------------------------------------------
// SigV4 verification

/** RFC 3986 encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ kept, every other UTF-8 byte as %XX (upper case). */
export function awsUriEncode(s) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const sha256Hex = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data, 'utf8').digest();

function canonicalUri(rawPath) {
  const segments = [];
  for (const s of rawPath.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  // Every service but S3: the path as sent is encoded once more, segment by segment.
  let uri = '/' + segments.map(awsUriEncode).join('/');
  if (segments.length && rawPath.endsWith('/')) uri += '/';
  return uri;
}

function canonicalQuery(query) {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((item) => {
      const i = item.indexOf('=');
      const k = i < 0 ? item : item.slice(0, i);
      const v = i < 0 ? '' : item.slice(i + 1);
      return [awsUriEncode(decodeURIComponent(k)), awsUriEncode(decodeURIComponent(v))];
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Header values by lower-case name from rawHeaders, repeated names joined by ",", blanks trimmed and squeezed. */
function headerValues(rawHeaders) {
  const out = new Map();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1].trim().replace(/[ \t]+/g, ' ');
    out.set(name, out.has(name) ? `${out.get(name)},${value}` : value);
  }
  return out;
}

/**
 * Verifies the SigV4 signature of a received request. `credentials`: {accessKeyId: {secretAccessKey,
 * sessionToken?}}. Resolves {ok, accessKeyId, region, signedHeaders, canonicalRequest, stringToSign, error, type}.
 */
export function verifySigV4({ method, rawUrl, rawHeaders, body, credentials, service = 'bedrock', now = Date.now() }) {
  const headers = headerValues(rawHeaders);
  const fail = (type, error, extra = {}) => ({ ok: false, type, error, ...extra });
  const auth = headers.get('authorization');
  if (!auth) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return fail('IncompleteSignatureException', `Authorization header malformed: ${auth.replace(/Signature=.*/, 'Signature=...')}`);
  const [, accessKeyId, date, region, svc, signedHeaderList, signature] = m;
  const known = credentials[accessKeyId];
  if (!known) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.', { accessKeyId, region });
  if (svc !== service) return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'.`, { accessKeyId, region });
  const amzDate = headers.get('x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return fail('IncompleteSignatureException', 'X-Amz-Date is missing or malformed.', { accessKeyId, region });
  if (amzDate.slice(0, 8) !== date) return fail('InvalidSignatureException', 'Credential date does not match X-Amz-Date.', { accessKeyId, region });
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now - signedAt) > 5 * 60 * 1000) return fail('InvalidSignatureException', 'Signature expired.', { accessKeyId, region });
  const signedHeaders = signedHeaderList.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.join(';') !== sorted.join(';')) return fail('InvalidSignatureException', 'SignedHeaders are not sorted.', { accessKeyId, region });
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) return fail('InvalidSignatureException', `'${required}' must be a signed header.`, { accessKeyId, region });
  }
  if (known.sessionToken) {
    if (headers.get('x-amz-security-token') !== known.sessionToken) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.', { accessKeyId, region });
    if (!signedHeaders.includes('x-amz-security-token')) return fail('InvalidSignatureException', "'x-amz-security-token' must be a signed header.", { accessKeyId, region });
  }
  for (const h of signedHeaders) {
    if (!headers.has(h)) return fail('InvalidSignatureException', `Signed header '${h}' is missing.`, { accessKeyId, region });
  }

  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  const canonicalRequest = [
    method,
    canonicalUri(rawPath),
    canonicalQuery(query),
    signedHeaders.map((h) => `${h}:${headers.get(h)}\n`).join(''),
    signedHeaders.join(';'),
    sha256Hex(body),
  ].join('\n');
  const scope = `${date}/${region}/${svc}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac('AWS4' + known.secretAccessKey, date);
  key = hmac(key, region);
  key = hmac(key, svc);
  key = hmac(key, 'aws4_request');
  const expected = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  const ok = crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  const result = { ok, accessKeyId, region, signedHeaders, canonicalRequest, stringToSign };
  if (!ok) {
    result.type = 'InvalidSignatureException';
    // What AWS answers: the canonical request and string to sign it expected (the session token included).
    result.error =
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' +
      `\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The stand-in

const words = (t) => String(t).split(/\s+/).filter(Boolean);

function lastUserTurn(messages) {
  if (!Array.isArray(messages)) return null;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return messages[i];
  return null;
}

function lastUserText(messages) {
  const turn = lastUserTurn(messages);
  if (!turn || !Array.isArray(turn.content)) return '';
  return turn.content
    .filter((b) => typeof b.text === 'string')
    .map((b) => b.text)
    .join(' ');
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

export class BedrockUpstream {
  constructor(credentials) {
    this.credentials = credentials; // {accessKeyId: {secretAccessKey, sessionToken}}
    this.requests = [];
    this.failures = [];
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Requests whose model id is `modelId`. */
  requestsFor(modelId) {
    return this.requests.filter((r) => r.modelId === modelId);
  }

  _error(res, status, type, message, extra = {}) {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': crypto.randomUUID(),
      ...extra,
    });
    res.end(JSON.stringify({ message }));
  }

  async _handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rawBody = Buffer.concat(chunks);
    const rec = {
      method: req.method,
      rawPath: req.url,
      headers: req.headers,
      rawBody: rawBody.toString('utf8'),
      time: Date.now(),
    };
    this.requests.push(rec);
    try {
      rec.body = JSON.parse(rec.rawBody);
    } catch {}

    const v = verifySigV4({ method: req.method, rawUrl: req.url, rawHeaders: req.rawHeaders, body: rawBody, credentials: this.credentials });
    Object.assign(rec, { accessKeyId: v.accessKeyId, region: v.region, signedHeaders: v.signedHeaders, verified: v.ok });
    if (!v.ok) {
      rec.failure = `${v.type}: ${v.error}`;
      this.failures.push(rec);
      this._error(res, v.type === 'InvalidSignatureException' ? 403 : v.type === 'UnrecognizedClientException' ? 403 : 400, v.type, v.error);
      return;
    }

    const m = /^\/model\/([^/?]+)\/(converse|converse-stream)$/.exec(req.url);
    if (req.method !== 'POST' || !m) {
      rec.failure = `unexpected request ${req.method} ${req.url}`;
      this.failures.push(rec);
      this._error(res, 404, 'UnknownOperationException', `Unknown operation ${req.method} ${req.url}`);
      return;
    }
    rec.modelId = decodeURIComponent(m[1]);
    rec.operation = m[2];
    if (awsUriEncode(rec.modelId) !== m[1]) {
      rec.failure = `model id not URI-encoded as expected: ${m[1]}`;
      this.failures.push(rec);
      this._error(res, 400, 'ValidationException', 'The provided model identifier is invalid.');
      return;
    }
    if (!rec.body || !Array.isArray(rec.body.messages)) {
      this._error(res, 400, 'ValidationException', 'Malformed input request: messages is required.');
      return;
    }
    const id = rec.modelId;
    if (id.includes('throttle')) return this._error(res, 429, 'ThrottlingException', THROTTLE_MESSAGE, { 'retry-after': '1' });
    if (id.includes('toolong')) return this._error(res, 400, 'ValidationException', TOO_LONG_MESSAGE);
    if (id.includes('denied')) return this._error(res, 403, 'AccessDeniedException', DENIED_MESSAGE);

    const answer = this._answer(rec.body, id);
    if (rec.operation === 'converse') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() });
      res.end(
        JSON.stringify({
          output: { message: { role: 'assistant', content: answer.content } },
          stopReason: answer.stopReason,
          usage: answer.usage,
          metrics: { latencyMs: 42 },
        }),
      );
      return;
    }
    await this._stream(res, answer, id);
  }

  _answer(body, id) {
    const messages = body.messages;
    const inputTokens = 7 + words(lastUserText(messages)).length;
    const tool = body.toolConfig?.tools?.[0]?.toolSpec;
    const results = (lastUserTurn(messages)?.content ?? []).filter((b) => b.toolResult);
    if (id.includes('tooluse') && tool && results.length === 0) {
      return {
        content: [{ toolUse: { toolUseId: 'tooluse_' + crypto.randomBytes(8).toString('hex'), name: tool.name, input: { city: 'Paris' } } }],
        stopReason: 'tool_use',
        usage: { inputTokens, outputTokens: 9, totalTokens: inputTokens + 9 },
      };
    }
    const text = results.length
      ? `Tool results: ${results.map((r) => r.toolResult.content.map((c) => c.text ?? JSON.stringify(c.json)).join(' ')).join('; ')}`
      : `You said: ${lastUserText(messages)}`;
    const outputTokens = words(text).length;
    return { content: [{ text }], stopReason: 'end_turn', usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } };
  }

  async _stream(res, answer, id) {
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': crypto.randomUUID() });
    const frames = [eventFrame('messageStart', { role: 'assistant' })];
    if (id.includes('midstream')) {
      frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Partial ' } }));
      frames.push(exceptionFrame('modelStreamErrorException', MIDSTREAM_MESSAGE));
    } else {
      answer.content.forEach((block, index) => {
        if (block.text !== undefined) {
          for (const [i, w] of words(block.text).entries()) {
            frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { text: (i ? ' ' : '') + w } }));
          }
        } else if (block.toolUse) {
          const { toolUseId, name, input } = block.toolUse;
          frames.push(eventFrame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId, name } } }));
          const json = JSON.stringify(input);
          const half = Math.floor(json.length / 2);
          frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: json.slice(0, half) } } }));
          frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: json.slice(half) } } }));
        }
        frames.push(eventFrame('contentBlockStop', { contentBlockIndex: index }));
      });
      frames.push(eventFrame('messageStop', { stopReason: answer.stopReason }));
      frames.push(eventFrame('metadata', { usage: answer.usage, metrics: { latencyMs: 42 } }));
    }
    for (const [i, frame] of frames.entries()) {
      if (res.destroyed) return;
      if (i === 1) {
        // a frame split across two writes (and two reads on the other side)
        res.write(frame.subarray(0, 7));
        await tick(15);
        res.write(frame.subarray(7));
      } else {
        res.write(frame);
      }
      await tick();
    }
    res.end();
  }
}

/** Starts a stand-in that knows `credentials` ({accessKeyId: {secretAccessKey, sessionToken?}}). */
export function startBedrockUpstream({ credentials }) {
  return new BedrockUpstream(credentials).listen();
}
