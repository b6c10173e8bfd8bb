// How a stream reaches the client on the wire: the events of one upstream read leave in one write (one chunk of
// the chunked body), the first ones before the upstream has sent the next (nothing waits for a later read), and
// the end of the stream ([DONE] and the last chunk) leaves with the events of the upstream's last read. The mock
// upstream's stream-paced model writes its events in three TCP writes and waits for release() between them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, RawConn, rawHttpRequest, MASTER_KEY, upstreamModel } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

/** The status and the chunks of a chunked response received so far; `ended` once its last chunk came. */
function chunkedSoFar(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.subarray(0, headEnd).toString('latin1');
  assert.match(head, /\r\ntransfer-encoding: chunked/i, head);
  const out = { status: Number(head.split(' ')[1]), chunks: [], ended: false };
  let pos = headEnd + 4;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return out;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (size === 0) {
      out.ended = buf.length >= eol + 4;
      return out;
    }
    if (buf.length < eol + 2 + size + 2) return out;
    out.chunks.push(buf.subarray(eol + 2, eol + 2 + size).toString('utf8'));
    pos = eol + 2 + size + 2;
  }
}

/** The data of the SSE events in one chunk of the body (which must hold whole events only). */
function eventsIn(chunk) {
  assert.ok(chunk.endsWith('\n\n'), `a chunk ends with a whole event: ${JSON.stringify(chunk)}`);
  return chunk
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      assert.ok(block.startsWith('data: '), block);
      return block.slice('data: '.length);
    });
}

const content = (data) => JSON.parse(data).choices[0]?.delta?.content;

describe('stream batching: one write per upstream read', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      config: {
        model_list: [upstreamModel('paced', 'stream-paced', upstream.apiBase, { stream_timeout: 10 })],
        general_settings: { master_key: MASTER_KEY },
      },
    });
  });
  after(async () => {
    upstream?.release();
    await gw?.stop();
    await upstream?.close();
  });

  for (const includeUsage of [false, true]) {
    it(`each upstream write is one chunk to the client, sent before the next upstream write${includeUsage ? ' (include_usage)' : ''}`, { timeout: 20_000 }, async (t) => {
      const conn = await RawConn.open(gw.port);
      t.after(() => conn.destroy());
      const body = { model: 'paced', messages: [{ role: 'user', content: 'batches' }], stream: true };
      if (includeUsage) body.stream_options = { include_usage: true };
      await conn.write(rawHttpRequest('POST', '/v1/chat/completions', { key: MASTER_KEY, body }));
      const upstreamWrites = () => upstream.requestsFor('stream-paced').at(-1)?.writes;
      const untilChunks = (n, label) =>
        conn._until(() => {
          const r = chunkedSoFar(conn.buf);
          return r && (r.chunks.length >= n || r.ended) ? r : undefined;
        }, 5000, label);

      // The upstream's first write (three events) arrives as one chunk while the upstream waits.
      let r = await untilChunks(1, 'the first chunk');
      assert.equal(r.status, 200);
      assert.equal(upstreamWrites(), 1, 'the upstream has made only its first write');
      assert.equal(r.chunks.length, 1);
      const first = eventsIn(r.chunks[0]);
      assert.deepEqual(first.map(content), ['p1 ', 'p2 ', 'p3 ']);
      for (const data of first) {
        const chunk = JSON.parse(data);
        assert.equal(chunk.model, 'paced');
        assert.ok(!('usage' in chunk) || includeUsage, `usage only when asked for: ${data}`);
      }

      // Its second write (one event): the next chunk, again before the upstream goes on.
      assert.equal(upstream.release(), 1);
      r = await untilChunks(2, 'the second chunk');
      assert.equal(upstreamWrites(), 2);
      assert.equal(r.chunks.length, 2);
      assert.deepEqual(eventsIn(r.chunks[1]).map(content), ['p4 ']);

      // Its last write (an event, the finish chunk, usage when asked, [DONE], the end of its body): one chunk,
      // the end of the stream with it.
      assert.equal(upstream.release(), 1);
      r = await conn._until(() => {
        const s = chunkedSoFar(conn.buf);
        return s?.ended ? s : undefined;
      }, 5000, 'the end of the stream');
      assert.equal(r.chunks.length, 3, `chunks: ${JSON.stringify(r.chunks)}`);
      const last = eventsIn(r.chunks[2]);
      assert.equal(content(last[0]), 'p5 ');
      assert.equal(JSON.parse(last[1]).choices[0].finish_reason, 'stop');
      if (includeUsage) {
        assert.equal(last.length, 4);
        assert.deepEqual(JSON.parse(last[2]).choices, []);
        assert.equal(JSON.parse(last[2]).usage.completion_tokens > 0, true);
      } else {
        assert.equal(last.length, 3);
      }
      assert.equal(last.at(-1), '[DONE]');
    });
  }
});
