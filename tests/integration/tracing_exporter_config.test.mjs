// The exporter's OTEL_* configuration as it shows on the wire: custom headers (percent-decoded) and gzip for each
// protocol, the signal-specific endpoint used as-is, the batch size limit, comma lists of exporters.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request, mockModel, MASTER_KEY, closedPort, startGateway, SWITCHYARD_BIN } from './lib/gateway.mjs';
import { PROTOCOLS, startOtlpReceiver } from './lib/otlp_receiver.mjs';
import { startTracedGateway, uniqueUa, waitForServerSpan, otelEnv, SERVICE_NAME } from './lib/tracing.mjs';

const config = { model_list: [mockModel('claude-haiku')], general_settings: { master_key: MASTER_KEY } };
const chat = (gw, ua, content = 'hello there') =>
  request(gw, '/v1/chat/completions', {
    key: MASTER_KEY,
    headers: { 'user-agent': ua },
    json: { model: 'claude-haiku', messages: [{ role: 'user', content }] },
  });

describe('exporter configuration on the wire', { timeout: 45_000 }, () => {
  const cleanups = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const track = ({ receiver, gw }) => {
    cleanups.push(() => receiver.close(), () => gw.stop());
    return { receiver, gw };
  };

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: OTEL_EXPORTER_OTLP_HEADERS arrive percent-decoded; OTEL_EXPORTER_OTLP_COMPRESSION=gzip arrives compressed`, { timeout: 10_000 }, async () => {
      const { receiver, gw } = track(
        await startTracedGateway({
          protocol,
          config,
          env: {
            OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme%20corp,x-team=llm%2Cplatform',
            OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
          },
        }),
      );
      const ua = uniqueUa('headers');
      assert.equal((await chat(gw, ua)).status, 200);
      const span = await waitForServerSpan(receiver, ua);
      const exp = span.export;
      assert.equal(exp.protocol, protocol);
      assert.equal(exp.headers['x-tenant'], 'acme corp', `headers/metadata: ${JSON.stringify(exp.headers)}`);
      assert.equal(exp.headers['x-team'], 'llm,platform');
      assert.equal(span.resource.attributes['service.name'], SERVICE_NAME);
      if (protocol === 'grpc') {
        assert.ok(receiver.grpcMessages.length > 0, 'gRPC messages seen');
        for (const m of receiver.grpcMessages) {
          assert.equal(m.compressed, true, 'every gRPC message has the compressed flag');
          assert.equal(m.gzipMagic, true, 'and is gzip');
        }
      } else {
        assert.equal(exp.contentEncoding, 'gzip');
        assert.equal(exp.compressed, true, 'the body is gzip');
        assert.equal(exp.error, null);
      }
    });
  }

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as-is (nothing appended) and wins over the generic endpoint', { timeout: 10_000 }, async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const dead = await closedPort();
    const gw = await startGateway({
      config,
      env: otelEnv({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${dead}`,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${receiver.httpPort}/custom/traces/path`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    });
    cleanups.push(() => gw.stop());
    const ua = uniqueUa('traces-endpoint');
    assert.equal((await chat(gw, ua)).status, 200);
    const span = await waitForServerSpan(receiver, ua);
    assert.equal(span.export.path, '/custom/traces/path');
  });

  it('OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2: no export carries more than 2 spans, none is lost', { timeout: 10_000 }, async () => {
    const { receiver, gw } = track(
      await startTracedGateway({ protocol: 'http/protobuf', config, env: { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2' } }),
    );
    const uas = [uniqueUa('batch'), uniqueUa('batch'), uniqueUa('batch')];
    for (const ua of uas) assert.equal((await chat(gw, ua)).status, 200);
    for (const ua of uas) await waitForServerSpan(receiver, ua);
    const servers = receiver.spans().filter((s) => uas.includes(s.attributes['user_agent.original']));
    assert.equal(servers.length, 3);
    const traceIds = new Set(servers.map((s) => s.traceId));
    await receiver.waitForSpans(6, { filter: (s) => traceIds.has(s.traceId) && s.parentSpanId !== '', timeoutMs: 3000 });
    for (const e of receiver.exports) assert.ok(e.spans.length <= 2, `an export of ${e.spans.length} spans`);
  });

  // The libraries mapped into the running gateway (its /proc maps), by file name.
  const mappedLibraries = (gw) =>
    new Set(
      fs
        .readFileSync(`/proc/${gw.proc.pid}/maps`, 'utf8')
        .split('\n')
        .map((line) => line.split(/\s+/)[5])
        .filter((file) => file && file.startsWith('/'))
        .map((file) => path.basename(file)),
    );
  const anyMapped = (libs, prefix) => [...libs].some((name) => name.startsWith(prefix));

  it('the gRPC exporter module, and gRPC with it, is loaded only when OTEL_EXPORTER_OTLP_PROTOCOL=grpc', { timeout: 15_000 }, async () => {
    for (const protocol of PROTOCOLS) {
      const { receiver, gw } = track(await startTracedGateway({ protocol, config }));
      const ua = uniqueUa(`module-${protocol}`);
      assert.equal((await chat(gw, ua)).status, 200);
      await waitForServerSpan(receiver, ua);
      const libs = mappedLibraries(gw);
      const grpc = protocol === 'grpc';
      assert.equal(libs.has('libswitchyard_otlp_grpc.so'), grpc, `${protocol}: the module mapped? ${[...libs].join(' ')}`);
      assert.equal(anyMapped(libs, 'libgrpc'), grpc, `${protocol}: libgrpc mapped?`);
      assert.equal(anyMapped(libs, 'libprotobuf'), false, `${protocol}: libprotobuf is never loaded`);
      await gw.stop();
    }
  });

  it('without the module beside the binary, OTLP/gRPC is a warning at start and requests still work', { timeout: 15_000 }, async () => {
    // The same binary under another directory (a hard link; a copy across file systems) has no module beside it.
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'switchyard-nomodule-'));
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    const bin = path.join(dir, 'switchyard');
    try {
      await fsp.link(SWITCHYARD_BIN, bin);
    } catch {
      await fsp.copyFile(SWITCHYARD_BIN, bin);
      await fsp.chmod(bin, 0o755);
    }
    const { gw } = track(await startTracedGateway({ protocol: 'grpc', config, bin }));
    assert.equal((await chat(gw, uniqueUa('nomodule'))).status, 200);
    const stopped = await gw.stop();
    assert.equal(stopped.code, 0, gw.stderr);
    const warning = gw.stderr.split('\n').find((line) => line.includes('gRPC exporter module cannot be loaded'));
    assert.ok(warning, `a warning at start; stderr:\n${gw.stderr}`);
    assert.ok(warning.includes(path.join(dir, 'libswitchyard_otlp_grpc.so')), warning);
    assert.ok(warning.includes('http/protobuf'), warning);
  });

  it('OTEL_TRACES_EXPORTER=otlp,console: spans reach the collector and the console', { timeout: 10_000 }, async () => {
    const { receiver, gw } = track(
      await startTracedGateway({ protocol: 'http/json', config, env: { OTEL_TRACES_EXPORTER: 'otlp,console' } }),
    );
    const ua = uniqueUa('console');
    assert.equal((await chat(gw, ua)).status, 200);
    const span = await waitForServerSpan(receiver, ua);
    // the console exporter prints the span; it has certainly printed the trace id by the time we stop it
    await gw.stop();
    assert.ok(gw.text().includes(span.traceId), 'the console exporter printed the span (its trace id)');
  });
});
