// Server limits over raw TCP: body and head sizes, head timeout (slowloris), connection cap, keep-alive,
// pipelining, idle timeout, write timeout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startGateway,
  RawConn,
  rawHttpRequest,
  waitFor,
  assertOpenAIError,
  MASTER_KEY,
  mockModel,
} from './lib/gateway.mjs';

const chatBody = (text) => ({ model: 'claude-haiku', messages: [{ role: 'user', content: text }] });

/** Opens a connection, sends one request, reads one response; the connection is destroyed afterwards. */
async function oneShot(port, raw, t, { timeoutMs = 5000 } = {}) {
  const conn = await RawConn.open(port);
  t.after(() => conn.destroy());
  await conn.write(raw);
  const res = await conn.readResponse({ timeoutMs });
  return { res, conn };
}

describe('limits', { timeout: 90_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      config: {
        model_list: [mockModel('claude-haiku')],
        general_settings: { master_key: MASTER_KEY },
        server_settings: {
          max_request_body_bytes: 1024,
          max_header_bytes: 2048,
          header_timeout_ms: 300,
          body_timeout_ms: 500,
          idle_timeout_ms: 1000,
          drain_timeout_ms: 2000,
        },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('a body just under max_request_body_bytes is served', { timeout: 10_000 }, async (t) => {
    const body = JSON.stringify(chatBody('x'.repeat(850)));
    assert.ok(Buffer.byteLength(body) < 1024);
    const { res } = await oneShot(gw.port, rawHttpRequest('POST', '/v1/chat/completions', { body, key: MASTER_KEY }), t);
    assert.equal(res.status, 200, res.text);
  });

  it('a body over max_request_body_bytes (Content-Length): 413 request_too_large', { timeout: 10_000 }, async (t) => {
    const body = JSON.stringify(chatBody('x'.repeat(2000)));
    const { res } = await oneShot(gw.port, rawHttpRequest('POST', '/v1/chat/completions', { body, key: MASTER_KEY }), t);
    assertOpenAIError(res, { status: 413, code: 'request_too_large' }, 'content-length');
  });

  it('a body over max_request_body_bytes sent by fetch: 413', { timeout: 10_000 }, async () => {
    const res = await fetch(gw.url('/v1/chat/completions'), {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('y'.repeat(4000))),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {}
    assertOpenAIError({ status: res.status, headers: res.headers, text, json }, { status: 413, code: 'request_too_large' });
  });

  it('a chunked body growing over max_request_body_bytes: 413', { timeout: 10_000 }, async (t) => {
    const part = 'z'.repeat(700);
    const raw =
      rawHttpRequest('POST', '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }) +
      `${part.length.toString(16)}\r\n${part}\r\n` +
      `${part.length.toString(16)}\r\n${part}\r\n` +
      '0\r\n\r\n';
    const { res } = await oneShot(gw.port, raw, t);
    assertOpenAIError(res, { status: 413, code: 'request_too_large' }, 'chunked');
  });

  it('a request head over max_header_bytes: 431 request_header_fields_too_large', { timeout: 10_000 }, async (t) => {
    const raw = rawHttpRequest('GET', '/v1/models', { key: MASTER_KEY, headers: { 'x-big': 'a'.repeat(3000) } });
    const { res } = await oneShot(gw.port, raw, t);
    assertOpenAIError(res, { status: 431, code: 'request_header_fields_too_large' });
  });

  it('a request line (URL) over max_header_bytes: 431', { timeout: 10_000 }, async (t) => {
    const { res } = await oneShot(gw.port, rawHttpRequest('GET', `/v1/models?pad=${'p'.repeat(3000)}`, { key: MASTER_KEY }), t);
    assertOpenAIError(res, { status: 431, code: 'request_header_fields_too_large' });
  });

  it('many small headers adding up over max_header_bytes: 431', { timeout: 10_000 }, async (t) => {
    const headers = {};
    for (let i = 0; i < 60; i++) headers[`x-h-${i}`] = 'v'.repeat(40);
    const { res } = await oneShot(gw.port, rawHttpRequest('GET', '/v1/models', { key: MASTER_KEY, headers }), t);
    assertOpenAIError(res, { status: 431, code: 'request_header_fields_too_large' });
  });

  it('a head that never finishes: the server closes the connection after header_timeout', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app');
    const closedAfter = await conn.waitClosed({ timeoutMs: 3000 });
    assert.ok(closedAfter >= 200, `closed after ${closedAfter} ms, before header_timeout (300 ms)`);
  });

  it('a connection that never sends a byte is closed (idle or header timeout)', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.waitClosed({ timeoutMs: 3000 });
  });

  it('a head trickled one byte at a time is still cut at header_timeout (slowloris)', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    const head = 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-Slow: ' + 'a'.repeat(1000);
    let i = 0;
    const iv = setInterval(() => {
      if (conn.closed || i >= head.length) return clearInterval(iv);
      conn.sock.write(head[i++]);
    }, 20);
    t.after(() => {
      clearInterval(iv);
      conn.destroy();
    });
    const closedAfter = await conn.waitClosed({ timeoutMs: 3000 });
    assert.ok(i < head.length, 'the whole head was sent before the close');
    assert.ok(closedAfter >= 200, `closed after ${closedAfter} ms`);
  });

  it('a body that never finishes: the connection is closed after body_timeout', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":`,
    );
    const closedAfter = await conn.waitClosed({ timeoutMs: 3000 });
    assert.ok(closedAfter >= 300, `closed after ${closedAfter} ms; body_timeout is 500 ms`);
  });

  it('header_timeout applies to the second request on a keep-alive connection too', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(rawHttpRequest('GET', '/health/liveliness'));
    assert.equal((await conn.readResponse()).status, 200);
    const start = Date.now();
    await conn.write('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await conn.waitClosed({ timeoutMs: 3000 });
    const took = Date.now() - start;
    // header_timeout is 300 ms, idle_timeout 1000 ms: the started head must be cut by the former
    assert.ok(took >= 200 && took < 900, `closed ${took} ms after the second head started`);
  });

  it('a body trickled byte by byte is still cut at body_timeout', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    await conn.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
    );
    const iv = setInterval(() => {
      if (!conn.closed) conn.sock.write(' ');
    }, 25);
    t.after(() => {
      clearInterval(iv);
      conn.destroy();
    });
    const closedAfter = await conn.waitClosed({ timeoutMs: 3000 });
    assert.ok(closedAfter >= 300, `closed after ${closedAfter} ms; body_timeout is 500 ms`);
  });

  it('HTTP/1.0: answered, then closed', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write('GET /health/liveliness HTTP/1.0\r\n\r\n');
    const r = await conn.readResponse();
    assert.equal(r.status, 200);
    await conn.waitClosed({ timeoutMs: 3000 });
  });

  it('keep-alive: two requests on one connection', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(rawHttpRequest('GET', '/health/liveliness'));
    const a = await conn.readResponse();
    assert.equal(a.status, 200, a.text);
    assert.equal(conn.closed, false);
    await conn.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('keep-alive second') }));
    const b = await conn.readResponse();
    assert.equal(b.status, 200, b.text);
    assert.ok(b.json.choices[0].message.content.includes('keep-alive second'));
    assert.equal(conn.closed, false, 'the connection stays open between keep-alive requests');
  });

  it('keep-alive survives an error response', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: '{broken' }));
    const a = await conn.readResponse();
    assertOpenAIError(a, { status: 400, code: 'invalid_json' });
    await conn.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('after an error') }));
    const b = await conn.readResponse();
    assert.equal(b.status, 200, b.text);
  });

  it('pipelining: two requests in one write get two responses in order', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(
      rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('pipe-one') }) +
        rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('pipe-two') }) +
        rawHttpRequest('GET', '/health/liveliness'),
    );
    const a = await conn.readResponse();
    const b = await conn.readResponse();
    const c = await conn.readResponse();
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(c.status, 200, c.text);
    assert.ok(a.json.choices[0].message.content.includes('pipe-one'), a.text);
    assert.ok(b.json.choices[0].message.content.includes('pipe-two'), b.text);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  it('keep-alive after a streamed (chunked) response', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(
      rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: { ...chatBody('stream then more'), stream: true } }),
    );
    const a = await conn.readResponse();
    assert.equal(a.status, 200);
    assert.match(a.headers['content-type'] ?? '', /text\/event-stream/);
    assert.ok(a.text.includes('data: [DONE]'), a.text);
    await conn.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('next on the same connection') }));
    const b = await conn.readResponse();
    assert.equal(b.status, 200, b.text);
    assert.ok(b.json.choices[0].message.content.includes('next on the same connection'));
  });

  it('a small chunked request body is accepted', { timeout: 10_000 }, async (t) => {
    const body = JSON.stringify(chatBody('chunked upload'));
    const half = Math.floor(body.length / 2);
    const raw =
      rawHttpRequest('POST', '/v1/chat/completions', {
        key: MASTER_KEY,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }) +
      `${half.toString(16)}\r\n${body.slice(0, half)}\r\n` +
      `${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n` +
      '0\r\n\r\n';
    const { res } = await oneShot(gw.port, raw, t);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.choices[0].message.content.includes('chunked upload'));
  });

  it('pipelining: 40 requests in one write, 40 responses in order', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    const n = 40;
    let raw = '';
    for (let i = 0; i < n; i++) {
      raw += rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody(`pipelined #${i} end`) });
    }
    await conn.write(raw);
    for (let i = 0; i < n; i++) {
      const r = await conn.readResponse({ timeoutMs: 5000 });
      assert.equal(r.status, 200, `response ${i}: ${r.text}`);
      assert.ok(r.json.choices[0].message.content.includes(`pipelined #${i} end`), `response ${i} out of order: ${r.text}`);
    }
  });

  it('100 concurrent connections are all served', { timeout: 15_000 }, async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const c = await RawConn.open(gw.port);
        try {
          await c.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody(`concurrent #${i}.`) }));
          const r = await c.readResponse({ timeoutMs: 10_000 });
          return r.status === 200 && r.json.choices[0].message.content.includes(`concurrent #${i}.`) ? 'ok' : `${r.status} ${r.text}`;
        } finally {
          c.destroy();
        }
      }),
    );
    const bad = results.filter((x) => x !== 'ok');
    assert.deepEqual(bad, [], `${bad.length} of 100 failed`);
  });

  it('Connection: close is honoured', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(rawHttpRequest('GET', '/health/liveliness', { headers: { connection: 'close' } }));
    const a = await conn.readResponse();
    assert.equal(a.status, 200);
    await conn.waitClosed({ timeoutMs: 3000 });
  });

  it('an idle keep-alive connection is closed after idle_timeout', { timeout: 10_000 }, async (t) => {
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    await conn.write(rawHttpRequest('GET', '/health/liveliness'));
    const a = await conn.readResponse();
    assert.equal(a.status, 200);
    const answeredAt = Date.now() - conn.openedAt;
    const closedAfter = await conn.waitClosed({ timeoutMs: 5000 });
    assert.ok(closedAfter - answeredAt >= 700, `closed ${closedAfter - answeredAt} ms after the response; idle_timeout is 1000 ms`);
  });

  it('the gateway still serves after all of that', { timeout: 10_000 }, async (t) => {
    const { res } = await oneShot(gw.port, rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('fine') }), t);
    assert.equal(res.status, 200, res.text);
  });
});

describe('request bodies on one keep-alive connection', { timeout: 60_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      config: { model_list: [mockModel('claude-haiku')], general_settings: { master_key: MASTER_KEY } },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('large, small, chunked and empty bodies in turn each arrive whole and alone', { timeout: 30_000 }, async (t) => {
    // The server keeps small body buffers with the connection and hands large ones to a per-worker spare: no
    // request may see the bytes of another.
    const conn = await RawConn.open(gw.port);
    t.after(() => conn.destroy());
    const sizes = [300_000, 40, 3_000, 250_000, 0, 2_000];
    for (const [i, size] of sizes.entries()) {
      const marker = `m${i}-${'abcdefghij'.repeat(Math.ceil(size / 10)).slice(0, size)}-end${i}`;
      let raw;
      if (i === 3) {
        // chunked, in three pieces
        const body = JSON.stringify(chatBody(marker));
        const thirds = [body.slice(0, 1000), body.slice(1000, 2000), body.slice(2000)];
        raw =
          rawHttpRequest('POST', '/v1/chat/completions', {
            key: MASTER_KEY,
            headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          }) +
          thirds.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') +
          '0\r\n\r\n';
      } else {
        raw = rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody(marker) });
      }
      await conn.write(raw);
      const res = await conn.readResponse({ timeoutMs: 10_000 });
      assert.equal(res.status, 200, `request ${i} (${size} bytes): ${res.text?.slice(0, 300)}`);
      const content = JSON.parse(res.text).choices[0].message.content;
      assert.ok(content.endsWith(`You said: ${marker}`), `request ${i}: the echo is not its own prompt`);
    }
  });
});

describe('max_connections', { timeout: 60_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      config: {
        model_list: [mockModel('claude-haiku')],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { max_connections: 1, idle_timeout_ms: 20_000, header_timeout_ms: 10_000 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('a connection beyond max_connections gets 503 overloaded, and the slot frees up on close', { timeout: 15_000 }, async (t) => {
    // Connection A: one request answered, then kept open and idle.
    const a = await RawConn.open(gw.port);
    t.after(() => a.destroy());
    await a.write(rawHttpRequest('GET', '/health/liveliness'));
    assert.equal((await a.readResponse()).status, 200);

    // Connection B: over the cap.
    const b = await RawConn.open(gw.port);
    t.after(() => b.destroy());
    await b.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('over the cap') }));
    const res = await b.readResponse();
    assertOpenAIError(res, { status: 503, code: 'overloaded' });
    await b.waitClosed({ timeoutMs: 3000 });

    // A still works.
    await a.write(rawHttpRequest('GET', '/health/liveliness'));
    assert.equal((await a.readResponse()).status, 200, 'the connection under the cap still works');

    // Close A: a new connection is served once the gateway has noticed (polled, bounded).
    a.destroy();
    await waitFor(
      async () => {
        const c = await RawConn.open(gw.port);
        try {
          await c.write(rawHttpRequest('GET', '/health/liveliness', { headers: { connection: 'close' } }));
          const r = await c.readResponse({ timeoutMs: 2000 });
          return r.status === 200;
        } finally {
          c.destroy();
        }
      },
      { timeoutMs: 5000, intervalMs: 50, message: 'a connection is served again after the first one closed' },
    );
  });
});

describe('max_connections accounting', { timeout: 60_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      config: {
        model_list: [mockModel('claude-haiku')],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { max_connections: 3, idle_timeout_ms: 20_000, header_timeout_ms: 300, max_header_bytes: 2048 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  /** Opens `n` keep-alive connections and has each answer one request; returns them (and their statuses). */
  async function holdConnections(n, t) {
    const conns = [];
    for (let i = 0; i < n; i++) {
      const c = await RawConn.open(gw.port);
      t.after(() => c.destroy());
      conns.push(c);
      await c.write(rawHttpRequest('GET', '/health/liveliness'));
      c.status = await c.readResponse({ timeoutMs: 3000 }).then((r) => r.status, (e) => `error: ${e.message}`);
    }
    return conns;
  }

  it('connections closed every which way give their slot back', { timeout: 30_000 }, async (t) => {
    const churn = [];
    for (let i = 0; i < 10; i++) {
      // reset right after connect
      const a = await RawConn.open(gw.port);
      a.sock.resetAndDestroy();
      // a partial head, then gone
      const b = await RawConn.open(gw.port);
      await b.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n');
      b.destroy();
      // a head over the limit (431, closed by the server)
      const c = await RawConn.open(gw.port);
      await c.write(rawHttpRequest('GET', '/v1/models', { headers: { 'x-big': 'b'.repeat(3000) } }));
      churn.push(c.waitClosed({ timeoutMs: 3000 }).catch(() => c.destroy()));
      // a full request with Connection: close
      const d = await RawConn.open(gw.port);
      await d.write(rawHttpRequest('GET', '/health/liveliness', { headers: { connection: 'close' } }));
      churn.push(d.waitClosed({ timeoutMs: 3000 }).catch(() => d.destroy()));
      // a partial head left to the header timeout
      const e = await RawConn.open(gw.port);
      await e.write('GET /v1/models HTTP/1.1\r\n');
      churn.push(e.waitClosed({ timeoutMs: 3000 }).catch(() => e.destroy()));
    }
    await Promise.all(churn);

    // Every slot is free again: three connections held at once are all served (polled until the gateway has
    // noticed every close), and a fourth is refused.
    await waitFor(
      async () => {
        const held = await holdConnections(3, t);
        const ok = held.every((c) => c.status === 200);
        held.forEach((c) => c.destroy());
        return ok;
      },
      { timeoutMs: 5000, intervalMs: 100, message: 'three simultaneous connections served after the churn' },
    );
    const held = await waitFor(
      async () => {
        const h = await holdConnections(3, t);
        if (h.every((c) => c.status === 200)) return h;
        h.forEach((c) => c.destroy());
        return false;
      },
      { timeoutMs: 5000, intervalMs: 100, message: 'three connections held' },
    );
    const fourth = await RawConn.open(gw.port);
    t.after(() => fourth.destroy());
    await fourth.write(rawHttpRequest('GET', '/health/liveliness'));
    const r = await fourth.readResponse();
    assertOpenAIError(r, { status: 503, code: 'overloaded' });
    held.forEach((c) => c.destroy());
  });
});

describe('write_timeout', { timeout: 120_000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({
      config: {
        model_list: [mockModel('claude-haiku')],
        general_settings: { master_key: MASTER_KEY },
        // One connection slot: while the stalled write holds it, every other connection is turned away.
        server_settings: { max_connections: 1, write_timeout_ms: 500, idle_timeout_ms: 60_000, header_timeout_ms: 10_000 },
      },
    });
  });
  after(async () => {
    await gw?.stop();
  });

  it('a client that stops reading is cut off after write_timeout, which frees its connection slot', { timeout: 90_000 }, async (t) => {
    // An answer far larger than what the socket buffers hold: the mock provider echoes the prompt.
    const request = rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body: chatBody('w'.repeat(24 << 20)) });
    const sock = net.connect({ port: gw.port, host: '127.0.0.1' });
    t.after(() => sock.destroy());
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.pause(); // reads nothing: the answer fills the buffers, then the gateway's write waits on this client
    sock.write(request);

    // Served again only once the stalled connection is gone: without write_timeout it would hold the slot forever
    // (no idle or header deadline applies while the gateway writes).
    await waitFor(
      async () => {
        const c = await RawConn.open(gw.port);
        try {
          await c.write(rawHttpRequest('GET', '/health/liveliness', { headers: { connection: 'close' } }));
          const r = await c.readResponse({ timeoutMs: 5000 });
          return r.status === 200;
        } finally {
          c.destroy();
        }
      },
      { timeoutMs: 20_000, intervalMs: 200, message: 'a new connection is served once the stalled write has timed out' },
    );

    // Reading now, the stalled client gets a cut answer: its head, less body than its Content-Length, then the end.
    let head = '';
    let raw = Buffer.alloc(0);
    let bodyBytes = 0;
    sock.on('data', (d) => {
      if (!head) {
        raw = Buffer.concat([raw, d]);
        const end = raw.indexOf('\r\n\r\n');
        if (end >= 0) {
          head = raw.subarray(0, end).toString('latin1');
          bodyBytes = raw.length - end - 4;
        }
      } else {
        bodyBytes += d.length;
      }
    });
    const ended = new Promise((resolve) => sock.once('close', resolve));
    sock.resume();
    await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stalled connection did not end')), 30_000))]);
    assert.match(head, /^HTTP\/1\.1 200 /, 'the answer had started');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1]);
    assert.ok(length > 24 << 20, `content-length ${length}`);
    assert.ok(bodyBytes < length, `the whole body (${bodyBytes} of ${length} bytes) arrived: the write was not cut`);
  });
});
