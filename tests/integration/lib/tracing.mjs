// Helpers shared by the tracing_*.test.mjs files: environments for the gateway's OTEL_* contract, W3C ids, finding a
// request's spans in what the receiver got, and typed attribute assertions.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGateway, MASTER_KEY, UPSTREAM_KEY } from './gateway.mjs';
import { startOtlpReceiver, attrType, childrenOf, allSpanStrings, SpanKind, StatusCode } from './otlp_receiver.mjs';

export { SpanKind, StatusCode, attrType, childrenOf };

export const SERVICE_NAME = 'litellm-gateway';

/**
 * A gateway environment: every OTEL_* variable of this process removed (so nothing leaks in from the shell), then
 * `vars`. Tests always say where spans go (an endpoint, or `none`): the spec default is localhost:4318.
 */
export function otelEnv(vars = {}) {
  const env = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) env[k] = undefined;
  env.SWITCHYARD_LOG_LEVEL = undefined;
  return { ...env, ...vars };
}

export const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');

/** A fresh W3C trace context: {traceId, parentId, header}. flags '01' sampled, '00' not. */
export function newTraceparent(flags = '01') {
  const traceId = randomHex(16);
  const parentId = randomHex(8);
  return { traceId, parentId, header: `00-${traceId}-${parentId}-${flags}` };
}

let uaSeq = 0;
/** A unique User-Agent: the SERVER span records it as user_agent.original, so a test can find its request's span. */
export function uniqueUa(label = 'req') {
  return `switchyard-tracing-test/${label}-${process.pid}-${++uaSeq}-${randomHex(3)}`;
}

/** Starts a receiver and a gateway exporting to it with `protocol` (plus `env`); returns {receiver, gw}. */
export async function startTracedGateway({ protocol = 'http/protobuf', config, env = {}, receiverOptions = {}, workers = 2, bin } = {}) {
  const receiver = await startOtlpReceiver(receiverOptions);
  let gw;
  try {
    gw = await startGateway({
      config,
      workers,
      bin,
      env: otelEnv({ ...receiver.env(protocol), OTEL_SERVICE_NAME: SERVICE_NAME, ...env }),
    });
  } catch (e) {
    await receiver.close();
    throw e;
  }
  return { receiver, gw };
}

/** Waits (bounded) for the SERVER span whose user_agent.original is `ua`. */
export function waitForServerSpan(receiver, ua, { timeoutMs = 5000 } = {}) {
  return receiver.waitForSpan((s) => s.kind === SpanKind.SERVER && s.attributes['user_agent.original'] === ua, {
    timeoutMs,
    message: `the SERVER span of the request with User-Agent ${ua}`,
  });
}

/**
 * The SERVER span of request `ua` and its children: {server, route, clients, children, trace}. Waits (bounded) for
 * the SERVER span and then for at least `minChildren` children (children end first, so they are normally in the
 * same or an earlier batch).
 */
export async function requestSpans(receiver, ua, { minChildren = 2, timeoutMs = 5000 } = {}) {
  const server = await waitForServerSpan(receiver, ua, { timeoutMs });
  await receiver
    .waitForSpans(minChildren, { filter: (s) => s.traceId === server.traceId && s.parentSpanId === server.spanId, timeoutMs: 2000 })
    .catch(() => {});
  const trace = receiver.trace(server.traceId);
  const children = childrenOf(server, trace);
  return {
    server,
    trace,
    children,
    route: children.filter((s) => s.name === 'route'),
    clients: children.filter((s) => s.kind === SpanKind.CLIENT),
  };
}

/** Describes a span briefly, for assertion messages. */
export function describeSpan(s) {
  if (!s) return String(s);
  return JSON.stringify(
    {
      name: s.name,
      kind: s.kind,
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      status: s.status,
      attributes: Object.fromEntries(Object.entries(s.rawAttributes ?? {}).map(([k, v]) => [k, `${v.type}:${JSON.stringify(v.value, (_, x) => (typeof x === 'bigint' ? String(x) : x))}`])),
      events: (s.events ?? []).map((e) => e.name),
    },
    null,
    1,
  );
}

const TYPE_NAMES = { string: 'stringValue', int: 'intValue', double: 'doubleValue', bool: 'boolValue', array: 'arrayValue' };

/**
 * Asserts attribute `key` of `span`: its value (deepEqual; a function is called as a predicate) and its OTLP type
 * ('string' | 'int' | 'double' | 'bool' | 'array').
 */
export function assertAttr(span, key, expected, type) {
  const where = `attribute ${key} of ${span.name !== undefined ? `span ${JSON.stringify(span.name)}` : 'the resource'}; ${describeSpan(span)}`;
  assert.ok(key in span.attributes, `missing ${where}`);
  const v = span.attributes[key];
  if (typeof expected === 'function') assert.ok(expected(v), `unexpected value ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x))} of ${where}`);
  else if (expected !== undefined) assert.deepEqual(v, expected, `value of ${where}`);
  if (type) assert.equal(attrType(span, key), TYPE_NAMES[type], `OTLP type of ${where}`);
  return v;
}

/** Asserts `child` is within `parent` in time. */
export function assertWithin(child, parent) {
  assert.ok(child.startTimeUnixNano >= parent.startTimeUnixNano, `${child.name} starts before ${parent.name}`);
  assert.ok(child.endTimeUnixNano <= parent.endTimeUnixNano, `${child.name} ends after ${parent.name}`);
  assert.ok(child.startTimeUnixNano <= child.endTimeUnixNano, `${child.name} ends before it starts`);
}

/** Unix ms → ns as BigInt. */
export const msToNs = (ms) => BigInt(Math.round(ms)) * 1_000_000n;

/** Asserts no span anywhere carries one of the secrets (or Bearer credentials). */
export function assertNoSecretsInSpans(spans, secrets = [MASTER_KEY, UPSTREAM_KEY]) {
  const strings = allSpanStrings(spans);
  for (const secret of [...secrets, 'Bearer ']) {
    const hit = strings.find((s) => s.includes(secret));
    assert.equal(hit, undefined, `a span carries ${JSON.stringify(secret)}: ${JSON.stringify(hit)}`);
  }
}

/** Mirrors the mock upstream's usage: prompt 7 + words of the last user message, completion words of the answer. */
export function mockUsage(prompt, completion) {
  const words = (t) => Math.max(1, String(t).split(/\s+/).filter(Boolean).length);
  return { prompt_tokens: 7 + words(prompt), completion_tokens: words(completion) };
}

/** Parses the gateway's stderr JSON lines. */
export function logLines(gw) {
  return gw.logLines().filter((l) => !l.raw);
}

export { MASTER_KEY, UPSTREAM_KEY };
