// A minimal OTLP trace receiver built only on the official OpenTelemetry JS definitions: the protobufjs code
// generated from opentelemetry-proto that @opentelemetry/otlp-transformer (0.214.x) ships. It does not use the
// project's .proto files, so what it decodes is an independent check of the gateway's exports.
// - gRPC (@grpc/grpc-js with the official (de)serialisers), OTLP/HTTP protobuf, OTLP/HTTP JSON (gzip accepted).
// - JSON is mapped to the official message by the OTLP/JSON rules (hex ids; enums, int64 and the rest as the proto3
//   JSON mapping spells them) and must survive fromObject → encode → decode → toObject unchanged: `roundTrip` holds
//   both sides (proto3 defaults dropped) so a test can compare them; a misnamed key or a wrong type shows there.
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const official = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const { ExportTraceServiceRequest: Req, ExportTraceServiceResponse: Res } = official.opentelemetry.proto.collector.trace.v1;

const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: false, oneofs: false };
const b64ToHex = (s) => Buffer.from(s ?? '', 'base64').toString('hex');

/** The decoded official message as a plain object (ids base64, int64 strings). */
const asObject = (msg) => Req.toObject(msg, TO_OBJECT);

/** OTLP/JSON → the object form the official fromObject expects (hex ids → base64); the rest maps 1:1. */
function jsonToOfficialObject(json) {
  const ids = new Set(['traceId', 'spanId', 'parentSpanId']);
  const walk = (v, key) => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        if (ids.has(k) && typeof x === 'string') {
          assert.match(x, k === 'traceId' ? /^[0-9a-f]{32}$/ : /^([0-9a-f]{16})?$/, `${k} must be lowercase hex: ${x}`);
          out[k] = Buffer.from(x, 'hex').toString('base64');
        } else out[k] = walk(x, k);
      }
      return out;
    }
    return v;
  };
  return walk(json);
}

/** Drops proto3 default values that a JSON writer may spell out (0, '', false, empty lists) outside AnyValue. */
function dropDefaults(v, inAnyValue = false) {
  if (Array.isArray(v)) {
    const a = v.map((x) => dropDefaults(x));
    return a;
  }
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const isAny = k === 'value' && !inAnyValue; // KeyValue.value is an AnyValue: its member is kept even when zero
      if (!inAnyValue) {
        if (x === 0 || x === '' || x === false || x === '0' || (Array.isArray(x) && x.length === 0)) continue;
      }
      out[k] = dropDefaults(x, isAny);
    }
    return out;
  }
  return v;
}

/** Flattens an official decoded request (plain object form) into spans with attributes {key: {type, value}}. */
export function spansOf(obj) {
  const kv = (list = []) => Object.fromEntries(list.map((a) => [a.key, Object.entries(a.value ?? {})[0] ?? [null, null]]));
  const out = [];
  for (const rs of obj.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: b64ToHex(s.traceId),
          spanId: b64ToHex(s.spanId),
          parentSpanId: b64ToHex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          start: BigInt(s.startTimeUnixNano ?? 0),
          end: BigInt(s.endTimeUnixNano ?? 0),
          attrs: kv(s.attributes),
          events: s.events ?? [],
          status: s.status ?? {},
          resource: kv(rs.resource?.attributes),
          scope: ss.scope ?? {},
        });
      }
    }
  }
  return out;
}

/** A receiver built only on the official definitions. `exports`: [{protocol, obj, error}]. */
export class OfficialReceiver {
  constructor() {
    this.exports = [];
  }
  async start() {
    this.http = http.createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      let body = Buffer.concat(chunks);
      const rec = { protocol: null, obj: null, error: null, path: req.url };
      try {
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const ct = String(req.headers['content-type'] ?? '').split(';')[0];
        if (ct === 'application/x-protobuf') {
          rec.protocol = 'http/protobuf';
          rec.obj = asObject(Req.decode(body));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' });
          res.end(Buffer.from(Res.encode(Res.create({})).finish()));
        } else if (ct === 'application/json') {
          rec.protocol = 'http/json';
          rec.json = JSON.parse(body.toString('utf8'));
          const mapped = jsonToOfficialObject(rec.json);
          const msg = Req.fromObject(mapped);
          const again = asObject(Req.decode(Req.encode(msg).finish()));
          rec.obj = again;
          rec.roundTrip = { sent: dropDefaults(mapped), decoded: dropDefaults(again) };
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        } else {
          throw new Error(`content-type ${ct}`);
        }
      } catch (e) {
        rec.error = e.message;
        res.writeHead(400);
        res.end(e.message);
      }
      this.exports.push(rec);
    });
    await new Promise((r) => this.http.listen(0, '127.0.0.1', r));
    this.httpPort = this.http.address().port;

    this.grpc = new grpc.Server();
    this.grpc.addService(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (m) => Buffer.from(Req.encode(m).finish()),
          requestDeserialize: (b) => Req.decode(b),
          responseSerialize: (m) => Buffer.from(Res.encode(Res.create(m)).finish()),
          responseDeserialize: (b) => Res.decode(b),
        },
      },
      {
        Export: (call, cb) => {
          this.exports.push({ protocol: 'grpc', obj: asObject(call.request), error: null });
          cb(null, {});
        },
      },
    );
    this.grpcPort = await new Promise((resolve, reject) =>
      this.grpc.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))),
    );
    return this;
  }
  spans() {
    return this.exports.filter((e) => e.obj).flatMap((e) => spansOf(e.obj).map((s) => ({ ...s, export: e })));
  }
  async close() {
    this.grpc?.forceShutdown();
    this.http?.closeAllConnections();
    await new Promise((r) => this.http.close(() => r()));
  }
}

