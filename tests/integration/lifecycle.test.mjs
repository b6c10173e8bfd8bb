// check-config diagnostics, os.environ/ references, start-up failures, and graceful shutdown on SIGTERM.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  checkConfig,
  writeTempConfig,
  request,
  postJson,
  postStream,
  classifyChatEvents,
  withTimeout,
  waitFor,
  RawConn,
  rawHttpRequest,
  assertNoSecrets,
  MASTER_KEY,
  UPSTREAM_KEY,
  mockModel,
  upstreamModel,
} from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';

const DIAG = /^(.+):(\d+):(\d+): ([^:\s]+): (.+)$/;

/** Diagnostic lines of check-config's stderr, parsed. */
function diagnostics(stderr) {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .map((l) => DIAG.exec(l))
    .filter(Boolean)
    .map(([, file, line, column, field, message]) => ({ file, line: Number(line), column: Number(column), field, message }));
}

const VALID = `model_list:
  - model_name: claude-haiku
    litellm_params:
      model: mock/claude-haiku
  - model_name: up
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: sk-upstream-secret-123
      timeout: 30
general_settings:
  master_key: sk-test-master
server_settings:
  max_request_body_bytes: 1048576
  max_connections: 100
`;

describe('check-config', { timeout: 60_000 }, () => {
  const cleanups = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  const temp = async (text) => {
    const t = await writeTempConfig(text);
    cleanups.push(t.cleanup);
    return t.file;
  };

  it('a valid config: exit 0 and ok', { timeout: 10_000 }, async () => {
    const file = await temp(VALID);
    const r = await checkConfig(file);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.match(r.stdout + r.stderr, /\bok\b/i);
    assertNoSecrets(r.stdout + r.stderr, [MASTER_KEY, UPSTREAM_KEY], 'check-config output');
  });

  it('a wrong type: non-zero exit, FILE:LINE:COLUMN: field.path: message', { timeout: 10_000 }, async () => {
    const file = await temp(`model_list:
  - model_name: good
    litellm_params:
      model: mock/good
  - model_name: bad
    litellm_params:
      model: mock/bad
      timeout: "not-a-number"
general_settings:
  master_key: sk-test-master
`);
    const r = await checkConfig(file);
    assert.notEqual(r.code, 0, `check-config accepted it; stdout: ${r.stdout}`);
    const ds = diagnostics(r.stderr);
    const d = ds.find((x) => x.field === 'model_list[1].litellm_params.timeout');
    assert.ok(d, `no diagnostic for model_list[1].litellm_params.timeout in:\n${r.stderr}`);
    assert.ok(d.file === file || d.file.endsWith('config.yaml'), `file: ${d.file}`);
    assert.equal(d.line, 8);
    assert.ok([7, 16].includes(d.column), `column ${d.column}: expected the key (7) or the value (16)`);
    assert.ok(d.message.length > 0);
    assertNoSecrets(r.stdout + r.stderr, [MASTER_KEY], 'check-config output');
  });

  it('every error is reported, each with its own line', { timeout: 10_000 }, async () => {
    const file = await temp(`model_list:
  - model_name: a
    litellm_params:
      model: mock/a
      timeout: "slow"
server_settings:
  max_connections: "many"
`);
    const r = await checkConfig(file);
    assert.notEqual(r.code, 0);
    const ds = diagnostics(r.stderr);
    const t = ds.find((x) => x.field === 'model_list[0].litellm_params.timeout');
    const m = ds.find((x) => x.field === 'server_settings.max_connections');
    assert.ok(t, `no timeout diagnostic in:\n${r.stderr}`);
    assert.ok(m, `no max_connections diagnostic in:\n${r.stderr}`);
    assert.equal(t.line, 5);
    assert.equal(m.line, 7);
  });

  it('a missing litellm_params.model is an error naming the field', { timeout: 10_000 }, async () => {
    const file = await temp(`model_list:
  - model_name: nomodel
    litellm_params:
      api_base: http://127.0.0.1:9/v1
`);
    const r = await checkConfig(file);
    assert.notEqual(r.code, 0);
    const ds = diagnostics(r.stderr);
    assert.ok(
      ds.some((d) => d.field.startsWith('model_list[0].litellm_params') && d.line >= 2 && d.line <= 4),
      `no diagnostic for model_list[0].litellm_params(.model) in:\n${r.stderr}`,
    );
  });

  it('a missing os.environ/ variable is an error naming the variable', { timeout: 10_000 }, async () => {
    const text = `model_list:
  - model_name: up
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: os.environ/SWITCHYARD_TEST_UNSET_VAR_7
`;
    const file = await temp(text);
    const r = await checkConfig(file, { env: { SWITCHYARD_TEST_UNSET_VAR_7: undefined } });
    assert.notEqual(r.code, 0, `accepted a missing variable; stdout: ${r.stdout}`);
    const ds = diagnostics(r.stderr);
    const d = ds.find((x) => x.message.includes('SWITCHYARD_TEST_UNSET_VAR_7') || x.field.endsWith('api_key'));
    assert.ok(d, `no diagnostic in:\n${r.stderr}`);
    assert.equal(d.field, 'model_list[0].litellm_params.api_key');
    assert.equal(d.line, 6);
    assert.ok(r.stderr.includes('SWITCHYARD_TEST_UNSET_VAR_7'), 'the variable is named');

    // the same file with the variable set is valid, and its value is not printed
    const ok = await checkConfig(file, { env: { SWITCHYARD_TEST_UNSET_VAR_7: 'sk-from-env-value-991' } });
    assert.equal(ok.code, 0, ok.stderr);
    assertNoSecrets(ok.stdout + ok.stderr, ['sk-from-env-value-991'], 'check-config output');
  });

  it('environment_variables defines variables for os.environ/ references', { timeout: 10_000 }, async () => {
    const file = await temp(`environment_variables:
  SWITCHYARD_TEST_DEFINED_IN_FILE: sk-defined-in-file-42
model_list:
  - model_name: up
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: os.environ/SWITCHYARD_TEST_DEFINED_IN_FILE
`);
    const r = await checkConfig(file, { env: { SWITCHYARD_TEST_DEFINED_IN_FILE: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assertNoSecrets(r.stdout + r.stderr, ['sk-defined-in-file-42'], 'check-config output');
  });

  it('unknown keys are warnings with file:line:column, not errors', { timeout: 10_000 }, async () => {
    const file = await temp(`model_list:
  - model_name: a
    litellm_params:
      model: mock/a
      some_future_param: 1
litellm_settings:
  drop_params: true
  success_callback: ["langfuse"]
server_settings:
  max_connectionz: 5
`);
    const r = await checkConfig(file);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    const line = out.split('\n').find((l) => l.includes('server_settings.max_connectionz'));
    assert.ok(line, `no warning for the misspelt server_settings key in:\n${out}`);
    assert.match(line, /:10:\d+: server_settings\.max_connectionz: /);
  });

  it('a YAML syntax error is reported with file:line:column', { timeout: 10_000 }, async () => {
    const file = await temp(`model_list:
  - model_name: x
    litellm_params: {model: mock/x
general_settings:
  master_key: "unterminated
`);
    const r = await checkConfig(file);
    assert.notEqual(r.code, 0);
    assert.ok(
      r.stderr.split('\n').some((l) => /^.+:\d+:\d+: /.test(l.trim())),
      `no file:line:column diagnostic in:\n${r.stderr}`,
    );
  });

  it('a file that does not exist: non-zero exit naming it', { timeout: 10_000 }, async () => {
    const r = await checkConfig('/nonexistent/switchyard-test/config.yaml');
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes('/nonexistent/switchyard-test/config.yaml'), r.stderr);
  });
});

describe('serve start-up', { timeout: 60_000 }, () => {
  it('an invalid config: serve exits non-zero with the diagnostic, never listening', { timeout: 15_000 }, async () => {
    const text = `model_list:
  - model_name: bad
    litellm_params:
      model: mock/bad
      timeout: "not-a-number"
`;
    await assert.rejects(startGateway({ config: text, startTimeoutMs: 10_000 }), (e) => {
      assert.match(e.message, /exited \(code [1-9]\d*/, e.message);
      assert.match(e.message, /model_list\[0\]\.litellm_params\.timeout/, e.message);
      return true;
    });
  });

  it('os.environ/ references are resolved at start: the upstream gets the key from the environment', { timeout: 15_000 }, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: `model_list:
  - model_name: up
    litellm_params:
      model: openai/ok
      api_base: ${upstream.apiBase}
      api_key: os.environ/SWITCHYARD_TEST_UPSTREAM_KEY
general_settings:
  master_key: os.environ/SWITCHYARD_TEST_MASTER_KEY
`,
      env: { SWITCHYARD_TEST_UPSTREAM_KEY: 'sk-env-upstream-5150', SWITCHYARD_TEST_MASTER_KEY: 'sk-env-master-8080' },
    });
    t.after(() => gw.stop());
    const denied = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'x' }] }, { key: MASTER_KEY });
    assert.equal(denied.status, 401);
    const r = await postJson(gw, '/v1/chat/completions', { model: 'up', messages: [{ role: 'user', content: 'x' }] }, { key: 'sk-env-master-8080' });
    assert.equal(r.status, 200, r.text);
    assert.equal(upstream.requests.at(-1).headers.authorization, 'Bearer sk-env-upstream-5150');
    await gw.stop();
    assertNoSecrets(gw.stderr + gw.stdout, ['sk-env-upstream-5150', 'sk-env-master-8080'], 'gateway output');
  });
});

describe('graceful shutdown', { timeout: 60_000 }, () => {
  it('SIGTERM on an idle gateway: exit 0 promptly', { timeout: 15_000 }, async (t) => {
    const gw = await startGateway({ config: { model_list: [mockModel('claude-haiku')] } });
    t.after(() => gw.stop({ signal: 'SIGKILL' }));
    const r = await postJson(gw, '/v1/chat/completions', { model: 'claude-haiku', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.status, 200);
    const start = Date.now();
    gw.proc.kill('SIGTERM');
    const exit = await withTimeout(gw.exited, 5000, 'exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.stderr);
    assert.ok(Date.now() - start < 3000, `took ${Date.now() - start} ms`);
  });

  it('SIGTERM while a slow request is in flight: the request completes 200, then exit 0', { timeout: 20_000 }, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: {
        model_list: [upstreamModel('slow', 'slow-1500', upstream.apiBase, { timeout: 10 })],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { drain_timeout_ms: 8000 },
      },
    });
    t.after(() => gw.stop({ signal: 'SIGKILL' }));
    const inflight = postJson(gw, '/v1/chat/completions', { model: 'slow', messages: [{ role: 'user', content: 'drain me' }] }, { key: MASTER_KEY, timeoutMs: 15_000 });
    inflight.catch(() => {});
    await upstream.waitForRequest((r) => r.model === 'slow-1500', { timeoutMs: 5000 });
    // a keep-alive connection opened before the drain, to ask readiness on it during the drain
    const probe = await RawConn.open(gw.port);
    t.after(() => probe.destroy());
    await probe.write(rawHttpRequest('GET', '/health/readiness'));
    assert.equal((await probe.readResponse()).status, 200, 'ready before SIGTERM');

    gw.proc.kill('SIGTERM');
    // Once draining, readiness stops saying 200: new connections are refused or answered 503 (polled, bounded;
    // the in-flight request lasts 1.5 s).
    const notReady = await waitFor(
      async () => {
        try {
          const h = await request(gw, '/health/readiness', { timeoutMs: 500 });
          return h.status === 200 ? false : `status ${h.status}`;
        } catch (e) {
          if (/ECONNREFUSED|ECONNRESET|other side closed/.test(e.message + (e.cause?.code ?? ''))) return 'refused';
          throw e;
        }
      },
      { timeoutMs: 1200, message: 'readiness no longer 200 during the drain' },
    ).catch((e) => e);
    // on the connection opened before the drain: 503, or the connection is closed
    let onProbe = 'closed';
    if (!probe.closed) {
      await probe.write(rawHttpRequest('GET', '/health/readiness'));
      onProbe = await probe.readResponse({ timeoutMs: 2000 }).then((x) => x.status, () => 'closed');
    }
    const r = await inflight;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'upstream echo: drain me');
    assert.ok(!(notReady instanceof Error), `readiness during the drain: ${notReady.message}`);
    assert.equal(notReady === 'refused' || notReady === 'status 503', true, `new readiness probe during the drain: ${notReady}`);
    assert.ok(onProbe === 503 || onProbe === 'closed', `readiness on an existing connection during the drain: ${onProbe}`);
    t.diagnostic(`during the drain: new connection ${notReady}; existing keep-alive connection ${onProbe}`);
    const exit = await withTimeout(gw.exited, 10_000, 'exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.stderr);
  });

  it('SIGTERM while a stream is in flight: the stream completes with [DONE], then exit 0', { timeout: 20_000 }, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: {
        model_list: [upstreamModel('gated', 'stream-gated', upstream.apiBase, { stream_timeout: 10 })],
        general_settings: { master_key: MASTER_KEY },
        server_settings: { drain_timeout_ms: 8000 },
      },
    });
    t.after(() => gw.stop({ signal: 'SIGKILL' }));
    const { sse } = await postStream(
      gw,
      '/v1/chat/completions',
      { model: 'gated', messages: [{ role: 'user', content: 'x' }], stream: true },
      { key: MASTER_KEY, timeoutMs: 15_000 },
    );
    const first = await sse.next(5000);
    assert.equal(first?.json?.choices?.[0]?.delta?.content, 'gated-first ');
    const logged = gw.stderr.length;
    gw.proc.kill('SIGTERM');
    // Best effort: let the gateway log that it is shutting down before the upstream is released, so the stream
    // really is drained (not finished before the signal was seen). Bounded; goes on if no such line appears.
    await waitFor(() => /shut|drain|signal|stop|term/i.test(gw.stderr.slice(logged)), { timeoutMs: 2000 }).catch(() => {
      t.diagnostic('no shutdown log line seen within 2 s; releasing the upstream anyway');
    });
    // The gateway must keep the stream (and itself) alive until the upstream has finished.
    upstream.release();
    const s = classifyChatEvents([first, ...(await sse.all(8000))]);
    assert.equal(s.content, 'gated-first gated-second gated-third');
    assert.ok(s.done, 'the drained stream ends with [DONE]');
    const exit = await withTimeout(gw.exited, 10_000, 'exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, gw.stderr);
  });

  it('drain_timeout bounds the shutdown when a request outlives it', { timeout: 20_000 }, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: {
        model_list: [upstreamModel('slow', 'slow-30000', upstream.apiBase, { timeout: 60 })],
        server_settings: { drain_timeout_ms: 500 },
      },
    });
    t.after(() => gw.stop({ signal: 'SIGKILL' }));
    const inflight = postJson(gw, '/v1/chat/completions', { model: 'slow', messages: [{ role: 'user', content: 'x' }] }, { timeoutMs: 15_000 });
    inflight.catch(() => {});
    await upstream.waitForRequest((r) => r.model === 'slow-30000', { timeoutMs: 5000 });
    const start = Date.now();
    gw.proc.kill('SIGTERM');
    await withTimeout(gw.exited, 5000, 'exit within drain_timeout plus slack');
    const took = Date.now() - start;
    assert.ok(took >= 300, `exited after ${took} ms, without waiting for the drain`);
    await inflight.catch(() => {}); // the client gets an error or a closed connection, but does not hang
  });
  it('drain_timeout bounds the shutdown when a never-ending stream is open: exit 0', { timeout: 20_000 }, async (t) => {
    const upstream = await startMockUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: {
        model_list: [upstreamModel('forever', 'stream-forever', upstream.apiBase, { stream_timeout: 10 })],
        server_settings: { drain_timeout_ms: 500 },
      },
    });
    t.after(() => gw.stop({ signal: 'SIGKILL' }));
    const { sse } = await postStream(gw, '/v1/chat/completions', { model: 'forever', messages: [{ role: 'user', content: 'x' }], stream: true });
    assert.ok((await sse.next(5000))?.json);
    const reading = sse.all(8000).catch((e) => e);
    const start = Date.now();
    gw.proc.kill('SIGTERM');
    const exit = await withTimeout(gw.exited, 5000, 'exit within drain_timeout plus slack');
    const took = Date.now() - start;
    assert.deepEqual(exit, { code: 0, signal: null }, gw.stderr);
    assert.ok(took >= 300, `exited after ${took} ms, without waiting for the drain`);
    const events = await reading;
    assert.ok(!(events instanceof Error), `the client's stream did not end: ${events.message}`);
    t.diagnostic(`stream cut after ${events.length} more events; last: ${events.at(-1)?.data?.slice(0, 120)}; transport error: ${sse.error?.message ?? 'none'}`);
    await upstream.waitForClosedConnections(1, { timeoutMs: 3000 });
  });
});
