// Memory the gateway keeps for the next large request (tcmalloc's thread caches and page heap, or glibc's heap
// with fixed thresholds in a build without tcmalloc: src/app/gateway.cpp) goes back to the kernel once the
// gateway has been idle for a second (http::ServerOptions::on_idle).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGateway, postJson, waitFor, MASTER_KEY, upstreamModel } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

function rssKb(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}

// The sanitizer build replaces malloc: neither allocator's give-back applies there.
function sanitized(pid) {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');
}

describe('memory after large requests', { timeout: 60_000 }, () => {
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway({
      workers: 1,
      env: { GLIBC_TUNABLES: undefined },
      config: { model_list: [upstreamModel('up', 'ok', upstream.apiBase)], general_settings: { master_key: MASTER_KEY } },
    });
  });
  after(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('what three 1 MB requests left in the heap is given back once the gateway is idle', { timeout: 30_000 }, async (t) => {
    if (sanitized(gw.proc.pid)) {
      t.skip('sanitizer build: its allocator ignores the malloc settings');
      return;
    }
    const small = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'hi' }] }, { key: MASTER_KEY });
    assert.equal(small.status, 200, small.text);
    // settled: idle for over a second after that request
    await new Promise((r) => setTimeout(r, 1500));
    const before = rssKb(gw.proc.pid);
    const big = 'x'.repeat(1 << 20);
    for (let i = 0; i < 3; i++) {
      const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: big }] }, { key: MASTER_KEY });
      assert.equal(r.status, 200, r.text.slice(0, 200));
    }
    const after = rssKb(gw.proc.pid);
    assert.ok(after > before + 2048, `the large requests left memory for the next one: ${before} -> ${after} kB`);
    await waitFor(() => rssKb(gw.proc.pid) < before + 1536, {
      timeoutMs: 10_000,
      intervalMs: 200,
      message: `RSS back near ${before} kB (was ${after} kB after the requests)`,
    });
  });
});
