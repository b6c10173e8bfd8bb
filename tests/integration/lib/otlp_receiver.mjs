// A loopback OTLP trace receiver for the tests: what a collector (Jaeger, Tempo, the ADOT collector) would be to the
// gateway, with every export recorded and decoded with the project's own .proto files (proto/ at the repo root).
//
// - One receiver runs two servers on 127.0.0.1, port 0 each:
//     grpcPort: gRPC, opentelemetry.proto.collector.trace.v1.TraceService/Export (@grpc/grpc-js, proto-loader);
//               grpc-encoding gzip is handled by grpc-js; the client->server HTTP/2 bytes are also parsed here so
//               tests can see whether each gRPC message arrived with the compressed flag set.
//     httpPort: OTLP/HTTP, POST /v1/traces (any path is accepted and recorded) with application/x-protobuf or
//               application/json, Content-Encoding gzip.
//   env(protocol) gives the OTEL_EXPORTER_OTLP_* variables that point a gateway at the right one.
// - Every export is recorded in `exports` ({protocol, path, headers, compressed, request, spans, ...}), answered or
//   not, and every TCP connection to either server is counted (`connections`), so "no connection at all" can be
//   asserted.
// - mode: 'ok' (default), 'unavailable' (HTTP 503 with Retry-After / gRPC UNAVAILABLE), 'hang' (accept, read,
//   never answer). setMode() changes it at any time. closedEndpointEnv() points at a port that refuses.
// - Spans are flattened with their resource and scope; attribute values are plain JS values (`attributes`) and
//   also kept as received (`rawAttributes[key] = {type: 'intValue', value: '42'}`; for OTLP/JSON and for int64 in
//   protobuf the int is a decimal string), so tests can assert types.
// - spans(), waitForSpans(n), waitForSpan(pred), waitForExports(n): bounded polling, no fixed sleeps.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

export const HOST = '127.0.0.1';
export const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');
export const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'];
export const SERVICE_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export const SpanKind = Object.freeze({ UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 });
export const StatusCode = Object.freeze({ UNSET: 0, OK: 1, ERROR: 2 });

// ---------------------------------------------------------------------------------------------------------------
// The project's protos, loaded once

let loaded;
/** {packageDefinition, service, decodeRequest(buf), encodeResponse(obj)} from proto/ (the project's definitions). */
export function otlpProtos() {
  if (loaded) return loaded;
  const file = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';
  if (!fs.existsSync(path.join(PROTO_DIR, file))) {
    throw new Error(`OTLP protos not found: ${path.join(PROTO_DIR, file)}`);
  }
  const packageDefinition = protoLoader.loadSync(file, {
    includeDirs: [PROTO_DIR],
    keepCase: false, // lowerCamelCase, as in OTLP/JSON
    longs: String,
    enums: Number,
    bytes: Buffer,
    defaults: false,
    arrays: true,
    objects: false,
    oneofs: true, // AnyValue gets `value: 'intValue'` naming the member that was set
  });
  const method = packageDefinition['opentelemetry.proto.collector.trace.v1.TraceService'].Export;
  const pkg = grpc.loadPackageDefinition(packageDefinition);
  loaded = {
    packageDefinition,
    service: pkg.opentelemetry.proto.collector.trace.v1.TraceService.service,
    decodeRequest: (buf) => method.requestDeserialize(buf),
    encodeRequest: (obj) => method.requestSerialize(obj),
    encodeResponse: (obj) => method.responseSerialize(obj),
  };
  return loaded;
}

// ---------------------------------------------------------------------------------------------------------------
// Values and normalisation

const ANY_VALUE_MEMBERS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];

function toNumberOrBigInt(v) {
  const b = BigInt(v);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** The member of an AnyValue that is set: {type, value} as received; {type: null} for an empty AnyValue. */
export function anyValueRaw(av) {
  if (av === null || av === undefined) return { type: null, value: undefined };
  const members = ANY_VALUE_MEMBERS.filter((m) => av[m] !== undefined && av[m] !== null);
  const type = typeof av.value === 'string' && ANY_VALUE_MEMBERS.includes(av.value) ? av.value : (members[0] ?? null);
  return { type, value: type ? av[type] : undefined, members };
}

/** An OTLP AnyValue as a plain JS value: int64 → number (BigInt beyond 2^53), arrays → arrays, kvlists → objects. */
export function anyValueToJs(av) {
  const { type, value } = anyValueRaw(av);
  switch (type) {
    case null:
      return undefined;
    case 'stringValue':
      return String(value);
    case 'boolValue':
      return Boolean(value);
    case 'intValue':
      return toNumberOrBigInt(value);
    case 'doubleValue':
      return typeof value === 'number' ? value : Number(value); // JSON may carry "NaN", "Infinity"
    case 'arrayValue':
      return (value.values ?? []).map(anyValueToJs);
    case 'kvlistValue':
      return Object.fromEntries((value.values ?? []).map((kv) => [kv.key, anyValueToJs(kv.value)]));
    case 'bytesValue':
      return Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'base64');
    default:
      return value;
  }
}

function attributesOf(list = []) {
  const attributes = {};
  const rawAttributes = {};
  const duplicateKeys = [];
  for (const kv of list ?? []) {
    if (kv.key in attributes) duplicateKeys.push(kv.key);
    attributes[kv.key] = anyValueToJs(kv.value);
    rawAttributes[kv.key] = anyValueRaw(kv.value);
  }
  return { attributes, rawAttributes, duplicateKeys };
}

const hexOf = (v) => {
  if (v === undefined || v === null) return '';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v).toLowerCase(); // OTLP/JSON: already hex
};
const nanos = (v) => (v === undefined || v === null || v === '' ? 0n : BigInt(v));

/**
 * Flattens a decoded ExportTraceServiceRequest (protobuf via proto-loader or OTLP/JSON, both lowerCamelCase) into
 * spans: {traceId, spanId, parentSpanId (hex, '' for a root), name, kind, startTimeUnixNano, endTimeUnixNano
 * (BigInt), attributes, rawAttributes, events [{name, timeUnixNano, attributes, rawAttributes}], links,
 * status {code, message}, flags, traceState, resource {attributes, rawAttributes}, scope {name, version}}.
 */
export function flattenRequest(request, exportRecord = null) {
  const out = [];
  for (const rs of request?.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? []) {
        const { attributes, rawAttributes, duplicateKeys } = attributesOf(s.attributes);
        out.push({
          traceId: hexOf(s.traceId),
          spanId: hexOf(s.spanId),
          parentSpanId: hexOf(s.parentSpanId),
          traceState: s.traceState ?? '',
          flags: s.flags ?? 0,
          name: s.name ?? '',
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: nanos(s.startTimeUnixNano),
          endTimeUnixNano: nanos(s.endTimeUnixNano),
          attributes,
          rawAttributes,
          duplicateKeys,
          droppedAttributesCount: s.droppedAttributesCount ?? 0,
          events: (s.events ?? []).map((e) => ({
            name: e.name ?? '',
            timeUnixNano: nanos(e.timeUnixNano),
            ...attributesOf(e.attributes),
          })),
          links: (s.links ?? []).map((l) => ({ traceId: hexOf(l.traceId), spanId: hexOf(l.spanId), ...attributesOf(l.attributes) })),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? '' },
          resource,
          scope,
          export: exportRecord,
        });
      }
    }
  }
  return out;
}

/**
 * Checks an OTLP/JSON request against the encoding rules of the OTLP specification; returns a list of problems
 * (empty when it conforms): lowerCamelCase keys, hex trace/span ids of the right length, integer enums,
 * int64/fixed64 as decimal strings.
 */
export function otlpJsonProblems(obj) {
  const problems = [];
  const p = (where, what) => problems.push(`${where}: ${what}`);
  const isDecString = (v) => typeof v === 'string' && /^-?\d+$/.test(v);
  const checkInt64 = (where, v, { optional = true } = {}) => {
    if (v === undefined && optional) return;
    if (!isDecString(v)) p(where, `int64 must be a decimal string, got ${JSON.stringify(v)}`);
  };
  const checkHex = (where, v, bytes, { optional = false } = {}) => {
    if ((v === undefined || v === '') && optional) return;
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(v)) {
      p(where, `must be ${bytes * 2} lowercase hex digits, got ${JSON.stringify(v)}`);
    }
  };
  const checkAny = (where, av) => {
    if (av === undefined) return;
    if (typeof av !== 'object' || av === null) return p(where, 'AnyValue must be an object');
    const keys = Object.keys(av);
    if (keys.length > 1) p(where, `AnyValue has more than one member: ${keys.join(',')}`);
    for (const k of keys) {
      if (!ANY_VALUE_MEMBERS.includes(k)) p(where, `unknown AnyValue member ${k}`);
    }
    if ('intValue' in av) checkInt64(`${where}.intValue`, av.intValue, { optional: false });
    if ('stringValue' in av && typeof av.stringValue !== 'string') p(where, 'stringValue must be a string');
    if ('boolValue' in av && typeof av.boolValue !== 'boolean') p(where, 'boolValue must be a boolean');
    if ('doubleValue' in av && typeof av.doubleValue !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(av.doubleValue)) {
      p(where, 'doubleValue must be a number');
    }
    if ('arrayValue' in av) (av.arrayValue?.values ?? []).forEach((v, i) => checkAny(`${where}.arrayValue.values[${i}]`, v));
    if ('kvlistValue' in av) checkKvs(`${where}.kvlistValue.values`, av.kvlistValue?.values);
  };
  const checkKvs = (where, list) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) return p(where, 'must be an array');
    list.forEach((kv, i) => {
      if (typeof kv?.key !== 'string') p(`${where}[${i}]`, 'key must be a string');
      checkAny(`${where}[${i}].value`, kv?.value);
    });
  };
  const snake = (o, where) => {
    if (o && typeof o === 'object' && !Array.isArray(o)) {
      for (const k of Object.keys(o)) if (k.includes('_')) p(where, `key ${k} is not lowerCamelCase`);
    }
  };
  if (!obj || typeof obj !== 'object') return ['request is not a JSON object'];
  snake(obj, 'request');
  if (!Array.isArray(obj.resourceSpans)) p('request', 'resourceSpans must be an array');
  (obj.resourceSpans ?? []).forEach((rs, i) => {
    const w = `resourceSpans[${i}]`;
    snake(rs, w);
    snake(rs.resource, `${w}.resource`);
    checkKvs(`${w}.resource.attributes`, rs.resource?.attributes);
    (rs.scopeSpans ?? []).forEach((ss, j) => {
      const ws = `${w}.scopeSpans[${j}]`;
      snake(ss, ws);
      snake(ss.scope, `${ws}.scope`);
      (ss.spans ?? []).forEach((s, k) => {
        const sp = `${ws}.spans[${k}] (${s?.name})`;
        snake(s, sp);
        checkHex(`${sp}.traceId`, s.traceId, 16);
        checkHex(`${sp}.spanId`, s.spanId, 8);
        checkHex(`${sp}.parentSpanId`, s.parentSpanId, 8, { optional: true });
        if (s.kind !== undefined && !Number.isInteger(s.kind)) p(`${sp}.kind`, `enum must be an integer, got ${JSON.stringify(s.kind)}`);
        checkInt64(`${sp}.startTimeUnixNano`, s.startTimeUnixNano, { optional: false });
        checkInt64(`${sp}.endTimeUnixNano`, s.endTimeUnixNano, { optional: false });
        checkKvs(`${sp}.attributes`, s.attributes);
        (s.events ?? []).forEach((e, n) => {
          snake(e, `${sp}.events[${n}]`);
          checkInt64(`${sp}.events[${n}].timeUnixNano`, e.timeUnixNano, { optional: false });
          checkKvs(`${sp}.events[${n}].attributes`, e.attributes);
        });
        (s.links ?? []).forEach((l, n) => {
          checkHex(`${sp}.links[${n}].traceId`, l.traceId, 16);
          checkHex(`${sp}.links[${n}].spanId`, l.spanId, 8);
        });
        if (s.status !== undefined) {
          snake(s.status, `${sp}.status`);
          if (s.status.code !== undefined && !Number.isInteger(s.status.code)) {
            p(`${sp}.status.code`, `enum must be an integer, got ${JSON.stringify(s.status.code)}`);
          }
        }
      });
    });
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP/2 sniffing (client to server direction) for the gRPC compressed flag

/** Parses client->server HTTP/2 bytes; calls onMessage({streamId, compressed, length, payload}) per gRPC message. */
class Http2ClientSniffer {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buf = Buffer.alloc(0);
    this.prefaceSeen = false;
    this.streams = new Map(); // streamId -> Buffer of DATA not yet parsed into messages
    this.broken = false;
  }
  push(chunk) {
    if (this.broken) return;
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.prefaceSeen) {
      if (this.buf.length < 24) return;
      if (this.buf.subarray(0, 24).toString('latin1') !== 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') {
        this.broken = true;
        return;
      }
      this.prefaceSeen = true;
      this.buf = this.buf.subarray(24);
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      const type = this.buf[3];
      const flags = this.buf[4];
      const streamId = this.buf.readUInt32BE(5) & 0x7fffffff;
      let payload = this.buf.subarray(9, 9 + len);
      this.buf = this.buf.subarray(9 + len);
      if (type !== 0) continue; // DATA only
      if (flags & 0x8) {
        const pad = payload[0];
        payload = payload.subarray(1, payload.length - pad);
      }
      let data = Buffer.concat([this.streams.get(streamId) ?? Buffer.alloc(0), payload]);
      while (data.length >= 5) {
        const mlen = data.readUInt32BE(1);
        if (data.length < 5 + mlen) break;
        this.onMessage({ streamId, compressed: data[0] === 1, length: mlen, payload: data.subarray(5, 5 + mlen) });
        data = data.subarray(5 + mlen);
      }
      this.streams.set(streamId, data);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The receiver

function isGzip(buf) {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

export class OtlpReceiver {
  constructor({ mode = 'ok', retryAfterSeconds = 1 } = {}) {
    this.mode = mode;
    this.retryAfterSeconds = retryAfterSeconds;
    this.exports = []; // every export received (decoded when possible), in arrival order
    this.grpcMessages = []; // every gRPC message seen on the wire: {streamId, compressed, length, gzipMagic}
    this.httpConnections = 0;
    this.grpcConnections = 0;
    this.otherRequests = []; // HTTP requests that were not POSTs
    this._sockets = new Set();
    this._hanging = new Set(); // things to release on close: callbacks / responses
    this._closed = false;
  }

  get connections() {
    return this.httpConnections + this.grpcConnections;
  }

  setMode(mode, { retryAfterSeconds } = {}) {
    if (!['ok', 'unavailable', 'hang'].includes(mode)) throw new Error(`unknown receiver mode ${mode}`);
    this.mode = mode;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }

  async start() {
    const protos = otlpProtos();
    // HTTP
    this.httpServer = http.createServer((req, res) => this._onHttp(req, res));
    this.httpServer.keepAliveTimeout = 5000;
    this.httpServer.on('connection', (sock) => {
      this.httpConnections++;
      this._track(sock);
    });
    await listen(this.httpServer);
    this.httpPort = this.httpServer.address().port;

    // gRPC: our own TCP listener (to count connections and read the frames), connections injected into grpc-js
    this.grpcServer = new grpc.Server();
    this.grpcServer.addService(protos.service, { Export: (call, callback) => this._onGrpc(call, callback) });
    this._injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.grpcTcp = net.createServer((sock) => {
      this.grpcConnections++;
      this._track(sock);
      const sniffer = new Http2ClientSniffer((m) => {
        this.grpcMessages.push({ streamId: m.streamId, compressed: m.compressed, length: m.length, gzipMagic: isGzip(m.payload) });
      });
      // Node's HTTP/2 reads a plain socket natively (no 'data' events), so grpc-js gets a relay Duplex instead,
      // and the bytes are read here on the way through.
      const relay = new Duplex({
        read() {
          sock.resume();
        },
        write(chunk, _enc, cb) {
          if (sock.destroyed) return cb();
          sock.write(chunk, () => cb());
        },
        final(cb) {
          sock.end();
          cb();
        },
        destroy(err, cb) {
          sock.destroy();
          cb(err);
        },
      });
      sock.on('data', (d) => {
        try {
          sniffer.push(d);
        } catch {
          sniffer.broken = true;
        }
        if (!relay.push(d)) sock.pause();
      });
      sock.on('end', () => relay.push(null));
      sock.on('error', () => {});
      sock.on('close', () => relay.destroy());
      this._injector.injectConnection(relay);
    });
    await listen(this.grpcTcp);
    this.grpcPort = this.grpcTcp.address().port;
    return this;
  }

  _track(sock) {
    this._sockets.add(sock);
    sock.on('close', () => this._sockets.delete(sock));
  }

  /** The base endpoint for a protocol (what OTEL_EXPORTER_OTLP_ENDPOINT is set to). */
  endpoint(protocol) {
    return `http://${HOST}:${protocol === 'grpc' ? this.grpcPort : this.httpPort}`;
  }

  /** Environment that points a gateway at this receiver with `protocol`, fast batches, plus `extra`. */
  env(protocol, extra = {}) {
    if (!PROTOCOLS.includes(protocol)) throw new Error(`unknown protocol ${protocol}`);
    return {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint(protocol),
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...extra,
    };
  }

  _record(rec) {
    rec.n = this.exports.length + 1;
    rec.time = Date.now();
    rec.mode = this.mode;
    rec.spans = rec.request ? flattenRequest(rec.request, rec) : [];
    this.exports.push(rec);
    return rec;
  }

  async _onHttp(req, res) {
    const chunks = [];
    let aborted = false;
    req.on('aborted', () => (aborted = true));
    try {
      for await (const c of req) chunks.push(c);
    } catch {
      aborted = true;
    }
    const body = Buffer.concat(chunks);
    // Any POST path is accepted (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as-is) and recorded in `path`: tests
    // assert /v1/traces where the generic endpoint was configured.
    if (req.method !== 'POST') {
      this.otherRequests.push({ method: req.method, url: req.url, headers: req.headers, length: body.length, time: Date.now() });
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const contentEncoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    const protocol = contentType === 'application/json' ? 'http/json' : 'http/protobuf';
    const rec = {
      protocol,
      path: req.url,
      headers: { ...req.headers },
      contentType,
      contentEncoding,
      compressed: contentEncoding === 'gzip' && isGzip(body),
      bodyLength: body.length,
      aborted,
      request: null,
      json: null,
      error: null,
    };
    let payload = body;
    try {
      if (contentEncoding === 'gzip') payload = zlib.gunzipSync(body);
      else if (contentEncoding && contentEncoding !== 'identity') throw new Error(`unsupported content-encoding ${contentEncoding}`);
      if (contentType === 'application/json') {
        rec.json = JSON.parse(payload.toString('utf8'));
        rec.request = rec.json;
        rec.jsonProblems = otlpJsonProblems(rec.json);
      } else if (contentType === 'application/x-protobuf') {
        rec.request = otlpProtos().decodeRequest(payload);
      } else {
        throw new Error(`unsupported content-type ${JSON.stringify(req.headers['content-type'])}`);
      }
    } catch (e) {
      rec.error = e.message;
    }
    this._record(rec);
    if (rec.error) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(rec.error);
      return;
    }
    if (this.mode === 'hang') {
      this._hanging.add(res);
      res.on('close', () => this._hanging.delete(res));
      return;
    }
    if (this.mode === 'unavailable') {
      res.writeHead(503, { 'retry-after': String(this.retryAfterSeconds), 'content-type': 'text/plain' });
      res.end('collector unavailable');
      return;
    }
    if (protocol === 'http/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    } else {
      const out = otlpProtos().encodeResponse({});
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
      res.end(out);
    }
  }

  _onGrpc(call, callback) {
    const rec = this._record({
      protocol: 'grpc',
      path: SERVICE_PATH,
      headers: call.metadata.getMap(),
      request: call.request,
      error: null,
    });
    rec.deadline = call.getDeadline?.();
    if (this.mode === 'hang') {
      const release = () => {
        try {
          callback({ code: grpc.status.UNAVAILABLE, details: 'receiver closed' });
        } catch {}
      };
      this._hanging.add(release);
      call.on('cancelled', () => this._hanging.delete(release));
      return;
    }
    if (this.mode === 'unavailable') {
      callback({ code: grpc.status.UNAVAILABLE, details: 'collector unavailable' });
      return;
    }
    callback(null, {});
  }

  /** Every span of every export so far, flattened (see flattenRequest). */
  spans() {
    return this.exports.flatMap((e) => e.spans);
  }

  /** Spans of one trace. */
  trace(traceId) {
    return this.spans().filter((s) => s.traceId === traceId);
  }

  /** Forgets what was received so far (connections are counted on). */
  reset() {
    this.exports.length = 0;
    this.grpcMessages.length = 0;
    this.otherRequests.length = 0;
  }

  async waitForExports(n, { timeoutMs = 5000, message } = {}) {
    return poll(() => (this.exports.length >= n ? this.exports.slice() : null), timeoutMs, message ?? `${n} export(s)`, () => this.describe());
  }

  async waitForSpans(n, { timeoutMs = 5000, filter = () => true, message } = {}) {
    return poll(
      () => {
        const s = this.spans().filter(filter);
        return s.length >= n ? s : null;
      },
      timeoutMs,
      message ?? `${n} span(s)`,
      () => this.describe(),
    );
  }

  async waitForSpan(pred, { timeoutMs = 5000, message = 'a matching span' } = {}) {
    return poll(() => this.spans().find(pred) ?? null, timeoutMs, message, () => this.describe());
  }

  /** A one-paragraph summary of what arrived, for failure messages. */
  describe() {
    const spans = this.spans();
    return (
      `receiver: ${this.connections} connection(s) (http ${this.httpConnections}, grpc ${this.grpcConnections}), ` +
      `${this.exports.length} export(s) [${this.exports.map((e) => `${e.protocol}${e.error ? ' error: ' + e.error : ''}`).join(', ')}], ` +
      `${spans.length} span(s): ${spans.map((s) => `${JSON.stringify(s.name)} kind ${s.kind} trace ${s.traceId.slice(0, 8)}`).join('; ')}` +
      (this.otherRequests.length ? `; other requests: ${this.otherRequests.map((r) => `${r.method} ${r.url}`).join(', ')}` : '')
    );
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    for (const h of [...this._hanging]) {
      if (typeof h === 'function') h();
      else h.destroy?.();
    }
    this._hanging.clear();
    this.httpServer?.closeAllConnections?.();
    for (const s of this._sockets) s.destroy();
    this._injector?.destroy();
    this.grpcServer?.forceShutdown();
    await Promise.all([closeServer(this.httpServer), closeServer(this.grpcTcp)]);
  }
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server) {
  if (!server || !server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function poll(fn, timeoutMs, message, describe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}; ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a receiver (both servers) on 127.0.0.1. */
export async function startOtlpReceiver(options = {}) {
  return new OtlpReceiver(options).start();
}

/** Environment pointing a gateway at a loopback port that refuses connections (a collector that is down). */
export function closedEndpointEnv(port, protocol, extra = {}) {
  return {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Assertion helpers on flattened spans

/** The type of an attribute as received ('stringValue', 'intValue', 'doubleValue', 'boolValue', 'arrayValue', ...). */
export function attrType(span, key) {
  return span.rawAttributes[key]?.type;
}

/** Children of `span` among `spans`. */
export function childrenOf(span, spans) {
  return spans.filter((s) => s.traceId === span.traceId && s.parentSpanId === span.spanId);
}

/** Every string that appears in any attribute value, event name/attribute, status message, or name of `spans`. */
export function allSpanStrings(spans) {
  const out = [];
  const walk = (v) => {
    if (v === undefined || v === null) return;
    if (typeof v === 'string') out.push(v);
    else if (Buffer.isBuffer(v)) out.push(v.toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object') Object.entries(v).forEach(([k, x]) => (out.push(k), walk(x)));
    else out.push(String(v));
  };
  for (const s of spans) {
    out.push(s.name, s.status.message, s.traceState);
    walk(s.attributes);
    walk(s.resource.attributes);
    for (const e of s.events) {
      out.push(e.name);
      walk(e.attributes);
    }
    for (const l of s.links) walk(l.attributes);
  }
  return out;
}
