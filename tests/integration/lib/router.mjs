// Helpers shared by the router_*.test.mjs files: a gateway and a mock upstream per test (the router keeps
// cooldowns, rpm counts and latencies per deployment, so tests never share one), deployments by upstream model id,
// requests counted per deployment, and a wait that keeps minute-bound counters away from a minute's end.
import { startGateway, postJson, postStream, waitFor, MASTER_KEY, UPSTREAM_KEY } from './gateway.mjs';
import { startMockUpstream } from './mock_upstream.mjs';

export { MASTER_KEY, UPSTREAM_KEY };

/**
 * A model_list entry for deployment `upstreamModelId` of the mock upstream in group `group`. `params` go to
 * litellm_params, `info` to model_info.
 */
export function dep(group, upstreamModelId, upstreamOrBase, params = {}, info = undefined) {
  const apiBase = typeof upstreamOrBase === 'string' ? upstreamOrBase : upstreamOrBase.apiBase;
  const entry = {
    model_name: group,
    litellm_params: { model: `openai/${upstreamModelId}`, api_base: apiBase, api_key: UPSTREAM_KEY, ...params },
  };
  if (info) entry.model_info = info;
  return entry;
}

/**
 * Starts a mock upstream and a gateway with the config `build(upstream)` returns (master key added); both are
 * stopped when test `t` ends. Resolves {gw, upstream}.
 */
export async function routerSetup(t, build, { workers = 2, env = {} } = {}) {
  const upstream = await startMockUpstream();
  t.after(() => upstream.close());
  const config = build(upstream);
  config.general_settings ??= { master_key: MASTER_KEY };
  const gw = await startGateway({ config, workers, env });
  t.after(() => gw.stop());
  return { gw, upstream };
}

let seq = 0;
/** A chat completion request to group `model`; resolves {status, headers, text, json, ms} (ms: time taken). */
export async function chat(gw, model, { content, timeoutMs = 10_000, headers = {}, extra = {} } = {}) {
  const started = Date.now();
  const r = await postJson(
    gw,
    '/v1/chat/completions',
    { model, messages: [{ role: 'user', content: content ?? `router test ${++seq}` }], ...extra },
    { key: MASTER_KEY, timeoutMs, headers },
  );
  r.ms = Date.now() - started;
  return r;
}

/** A streaming chat completion to group `model`; resolves {res, sse, ms} once the response head is there. */
export async function chatStream(gw, model, { content, timeoutMs = 10_000, headers = {}, signal } = {}) {
  const started = Date.now();
  const s = await postStream(
    gw,
    '/v1/chat/completions',
    { model, messages: [{ role: 'user', content: content ?? `router stream ${++seq}` }], stream: true },
    { key: MASTER_KEY, timeoutMs, headers, signal },
  );
  s.ms = Date.now() - started;
  return s;
}

/** A chat completion the test can abandon: {abort(), done} (done settles either way, never rejects). */
export function abortableChat(gw, model, { content, timeoutMs = 10_000 } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const done = fetch(gw.url('/v1/chat/completions'), {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: content ?? `router abandoned ${++seq}` }] }),
    signal: ac.signal,
  })
    .then((res) => res.text().then((text) => ({ status: res.status, text })))
    .catch((error) => ({ error }))
    .finally(() => clearTimeout(timer));
  return { abort: () => ac.abort(), done };
}

/** How many requests the upstream got for each of `ids` (upstream model ids): {id: n}. */
export function counts(upstream, ids) {
  return Object.fromEntries(ids.map((id) => [id, upstream.requestsFor(id).length]));
}

/** The routing headers of a response, for assertion messages. */
export function routingHeaders(r) {
  const h = r.headers ?? r.res?.headers;
  return Object.fromEntries([...h].filter(([k]) => k.startsWith('x-litellm-') || k.startsWith('x-switchyard-') || k === 'retry-after'));
}

/** Describes a response briefly, for assertion messages. */
export function explain(r) {
  return `status ${r.status} headers ${JSON.stringify(routingHeaders(r))} body ${String(r.text).slice(0, 300)}`;
}

/**
 * The gateway counts rpm, tpm and allowed_fails per minute of its steady clock (CLOCK_MONOTONIC, the clock
 * process.hrtime reads on Linux). Waits (bounded) until at least `needMs` remain in the current minute, so
 * counts a test builds up are not reset half-way by a new minute.
 */
export async function clearOfMinuteBoundary(needMs = 5000) {
  const intoMinute = () => Number((process.hrtime.bigint() / 1_000_000n) % 60_000n);
  await waitFor(() => intoMinute() + needMs <= 60_000 && intoMinute() >= 200, {
    timeoutMs: needMs + 1000,
    intervalMs: 50,
    message: `${needMs} ms left in the current minute`,
  });
}
