// What the router tells the client and the traces: the x-litellm-* routing headers (never a credential of the
// api_base), and the spans of retries and fallbacks (a route span per selection, a CLIENT span per attempt, the
// totals on the SERVER span).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertOpenAIError, assertNoSecrets, mockModel, request } from './lib/gateway.mjs';
import { startMockUpstream } from './lib/mock_upstream.mjs';
import { dep, routerSetup, chat, chatStream, explain, clearOfMinuteBoundary, MASTER_KEY, UPSTREAM_KEY } from './lib/router.mjs';
import {
  startTracedGateway,
  uniqueUa,
  requestSpans,
  assertAttr,
  assertNoSecretsInSpans,
  describeSpan,
  SpanKind,
  StatusCode,
} from './lib/tracing.mjs';

const T = { timeout: 15_000 };

describe('router response headers', { timeout: 60_000 }, () => {
  const SECRETS = ['pa55word', 'sekrit-query', 'frag-token', 'us@er', 'us%40er', 'p%40ss', 'tokenonly', UPSTREAM_KEY, MASTER_KEY];

  it('x-litellm-model-id / -model-group / -model-api-base on answers, streams and errors, without credentials', T, async (t) => {
    const { gw, upstream } = await routerSetup(t, (u) => ({
      model_list: [
        dep('g', 'ok', `http://user:pa55word@127.0.0.1:${u.port}/v1?key=sekrit-query#frag-token`, {}, { id: 'dep-creds' }),
        dep('enc', 'ok-enc', `http://us%40er:p%40ss@127.0.0.1:${u.port}/v1/?api-key=sekrit-query`, {}, { id: 'dep-enc' }),
        dep('tok', 'ok-tok', `http://tokenonly@127.0.0.1:${u.port}/v1`, {}, { id: 'dep-tok' }),
        dep('bad', 'status-500-ra0', `http://user:pa55word@127.0.0.1:${u.port}/v1?key=sekrit-query`, {}, { id: 'dep-bad' }),
      ],
      router_settings: { num_retries: 1 },
    }));
    const base = `http://127.0.0.1:${upstream.port}/v1`;
    const seen = [];

    const r = await chat(gw, 'g');
    seen.push(r);
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-creds');
    assert.equal(r.headers.get('x-litellm-model-group'), 'g');
    assert.equal(r.headers.get('x-litellm-model-api-base'), base);
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '0');
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '0');

    for (const [group, id] of [
      ['enc', 'dep-enc'],
      ['tok', 'dep-tok'],
    ]) {
      const x = await chat(gw, group);
      seen.push(x);
      assert.equal(x.status, 200, explain(x));
      assert.equal(x.headers.get('x-litellm-model-id'), id);
      assert.ok([base, `${base}/`].includes(x.headers.get('x-litellm-model-api-base')), `${group}: ${explain(x)}`);
    }

    const { res, sse } = await chatStream(gw, 'g');
    await sse.all(5000);
    seen.push({ headers: res.headers });
    assert.equal(res.headers.get('x-litellm-model-id'), 'dep-creds');
    assert.equal(res.headers.get('x-litellm-model-api-base'), base);

    const e = await chat(gw, 'bad');
    seen.push(e);
    assertOpenAIError(e, { status: 500 }, explain(e));
    assert.equal(e.headers.get('x-litellm-model-id'), 'dep-bad', 'an error names the deployment that failed last');
    assert.equal(e.headers.get('x-litellm-model-group'), 'bad');
    assert.equal(e.headers.get('x-litellm-model-api-base'), base);
    assert.equal(e.headers.get('x-litellm-attempted-retries'), '1');

    for (const x of seen) assertNoSecrets(JSON.stringify([...x.headers]), SECRETS, 'response headers');
    assertNoSecrets(gw.stderr, SECRETS, 'gateway log');
  });

  it('after a fallback: the headers name the fallback deployment; no api-base header for a deployment without one', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({
      model_list: [
        dep('A', 'status-500-ra0', `http://user:pa55word@127.0.0.1:${u.port}/v1`, {}, { id: 'dep-a' }),
        { ...mockModel('B'), model_info: { id: 'dep-mock' } },
      ],
      router_settings: { num_retries: 0, fallbacks: [{ A: ['B'] }] },
    }));
    const r = await chat(gw, 'A');
    assert.equal(r.status, 200, explain(r));
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-mock');
    assert.equal(r.headers.get('x-litellm-model-group'), 'B');
    assert.equal(r.headers.get('x-litellm-model-api-base'), null, `the failed deployment's api_base must not stay: ${explain(r)}`);
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '0');
  });

  it('no routing header for a request that never reached the router', T, async (t) => {
    const { gw } = await routerSetup(t, (u) => ({ model_list: [dep('g', 'ok', u)] }));
    const r = await request(gw, '/v1/chat/completions', { key: MASTER_KEY, json: { model: 'nope', messages: [{ role: 'user', content: 'x' }] } });
    assertOpenAIError(r, { status: 400, code: 'model_not_found' });
    for (const h of ['x-litellm-model-id', 'x-litellm-model-group', 'x-litellm-model-api-base']) assert.equal(r.headers.get(h), null, h);
  });
});

describe('router spans', { timeout: 60_000 }, () => {
  let receiver;
  let gw;
  let upstream;
  before(async () => {
    upstream = await startMockUpstream();
    ({ receiver, gw } = await startTracedGateway({
      config: {
        model_list: [
          // credentials in the api_base: no span may carry them
          dep('g', 'fail-1-429-ra0', `http://user:pa55word@127.0.0.1:${upstream.port}/v1?key=sekrit-query`, {}, { id: 'dep-g' }),
          dep('A', 'status-500-ra0-a', upstream, {}, { id: 'dep-a' }),
          dep('B', 'ok-b', upstream, {}, { id: 'dep-b' }),
          dep('C', 'status-500-ra0-c', upstream, {}, { id: 'dep-c' }),
          dep('L', 'status-429-ra120', upstream, {}, { id: 'dep-l' }),
        ],
        general_settings: { master_key: MASTER_KEY },
        router_settings: {
          num_retries: 2,
          allowed_fails: 1,
          fallbacks: [{ A: ['B'] }],
          model_group_retry_policy: { A: { InternalServerErrorRetries: 0 } },
        },
      },
    }));
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await upstream?.close();
  });

  const byAttempt = (spans, key) => [...spans].sort((a, b) => Number(a.attributes[key] - b.attributes[key]));

  it('one retry: two route spans and two sibling CLIENT spans (ERROR rate_limit, then OK); SERVER router.retries 1', T, async () => {
    const ua = uniqueUa('retry');
    const r = await chat(gw, 'g', { headers: { 'user-agent': ua } });
    assert.equal(r.status, 200, explain(r));
    const { server, route, clients, children } = await requestSpans(receiver, ua, { minChildren: 4 });
    const names = children.map((c) => c.name).join(', ');

    assertAttr(server, 'router.attempts', 2, 'int');
    assertAttr(server, 'router.retries', 1, 'int');
    assertAttr(server, 'router.fallbacks', 0, 'int');
    assert.notEqual(server.status.code, StatusCode.ERROR, describeSpan(server));

    assert.equal(clients.length, 2, `two CLIENT spans under the SERVER span; children: ${names}`);
    const [c0, c1] = byAttempt(clients, 'switchyard.attempt');
    for (const c of [c0, c1]) {
      assert.equal(c.kind, SpanKind.CLIENT);
      assert.equal(c.parentSpanId, server.spanId, 'siblings under the SERVER span');
      assertAttr(c, 'router.model_group', 'g', 'string');
    }
    assertAttr(c0, 'switchyard.attempt', 0, 'int');
    assertAttr(c1, 'switchyard.attempt', 1, 'int');
    assert.equal(c0.status.code, StatusCode.ERROR, describeSpan(c0));
    assertAttr(c0, 'router.failure_kind', 'rate_limit', 'string');
    assertAttr(c0, 'router.cooldown_started', true, 'bool');
    assertAttr(c0, 'http.response.status_code', 429, 'int');
    assert.notEqual(c1.status.code, StatusCode.ERROR, describeSpan(c1));
    assert.ok(!('router.failure_kind' in c1.attributes), describeSpan(c1));
    assertAttr(c1, 'http.response.status_code', 200, 'int');
    assert.ok(c0.endTimeUnixNano <= c1.startTimeUnixNano, 'the retry starts after the failed attempt ended');

    assert.equal(route.length, 2, `a route span per selection; children: ${names}`);
    const [r0, r1] = byAttempt(route, 'router.attempt');
    for (const [s, attempt] of [
      [r0, 0],
      [r1, 1],
    ]) {
      assert.equal(s.kind, SpanKind.INTERNAL);
      assert.equal(s.parentSpanId, server.spanId);
      assertAttr(s, 'router.attempt', attempt, 'int');
      assertAttr(s, 'router.strategy', 'simple-shuffle', 'string');
      assertAttr(s, 'router.model_group', 'g', 'string');
      assertAttr(s, 'router.candidates_evaluated', 1, 'int');
      assertAttr(s, 'router.model_selected', 'fail-1-429-ra0', 'string');
      assertAttr(s, 'router.deployment_id', 'dep-g', 'string');
      assertAttr(s, 'router.decision_reason', (v) => typeof v === 'string' && v.length > 0, 'string');
      assert.ok(!('router.fallback_depth' in s.attributes), describeSpan(s));
    }
    assert.ok(!('router.all_cooling_down' in r0.attributes), describeSpan(r0));
    assertAttr(r1, 'router.all_cooling_down', true, 'bool');
    assertAttr(r1, 'router.decision_reason', 'all_cooling_down', 'string');
    assert.ok(r1.startTimeUnixNano >= c0.endTimeUnixNano, 'the retry is routed after the failed attempt');
    assertNoSecretsInSpans(children.concat([server]), ['pa55word', 'sekrit-query', MASTER_KEY, UPSTREAM_KEY]);
  });

  it('a fallback: route span with router.fallback_depth 1 for group B, CLIENT spans per group; SERVER router.fallbacks 1', T, async () => {
    const ua = uniqueUa('fallback');
    const r = await chat(gw, 'A', { headers: { 'user-agent': ua } });
    assert.equal(r.status, 200, explain(r));
    const { server, route, clients } = await requestSpans(receiver, ua, { minChildren: 4 });
    assertAttr(server, 'router.attempts', 2, 'int');
    assertAttr(server, 'router.retries', 0, 'int');
    assertAttr(server, 'router.fallbacks', 1, 'int');

    const [r0, r1] = byAttempt(route, 'router.attempt');
    assert.equal(route.length, 2);
    assertAttr(r0, 'router.model_group', 'A', 'string');
    assert.ok(!('router.fallback_depth' in r0.attributes), describeSpan(r0));
    assertAttr(r1, 'router.model_group', 'B', 'string');
    assertAttr(r1, 'router.fallback_depth', 1, 'int');
    assertAttr(r1, 'router.deployment_id', 'dep-b', 'string');

    const [c0, c1] = byAttempt(clients, 'switchyard.attempt');
    assert.equal(clients.length, 2);
    assertAttr(c0, 'router.model_group', 'A', 'string');
    assertAttr(c0, 'router.failure_kind', 'server_error', 'string');
    assert.equal(c0.status.code, StatusCode.ERROR);
    assertAttr(c1, 'router.model_group', 'B', 'string');
    assert.notEqual(c1.status.code, StatusCode.ERROR, describeSpan(c1));
  });

  it('router.cooldown_started only on the failure that started the cooldown (allowed_fails 1)', T, async () => {
    await clearOfMinuteBoundary(5000); // allowed_fails counts the failures of the current minute
    const ua = uniqueUa('cooldown');
    const r = await chat(gw, 'C', { headers: { 'user-agent': ua } });
    assertOpenAIError(r, { status: 500 }, explain(r));
    const { server, clients } = await requestSpans(receiver, ua, { minChildren: 6 });
    assertAttr(server, 'router.attempts', 3, 'int');
    assertAttr(server, 'router.retries', 2, 'int');
    assert.equal(server.status.code, StatusCode.ERROR, describeSpan(server));
    const spans = byAttempt(clients, 'switchyard.attempt');
    assert.equal(spans.length, 3);
    assert.deepEqual(
      spans.map((c) => [c.status.code, c.attributes['router.failure_kind'], c.attributes['router.cooldown_started'] ?? null]),
      [
        [StatusCode.ERROR, 'server_error', null], // the first failure is allowed
        [StatusCode.ERROR, 'server_error', true], // the second is more than allowed_fails: cooldown
        [StatusCode.ERROR, 'server_error', null], // already cooling down
      ],
    );
  });

  it('a 429 whose Retry-After is above max_retry_after: one attempt, and one route span (no selection for a retry that never happens)', {
    ...T,
  }, async () => {
    const ua = uniqueUa('no-retry');
    const r = await chat(gw, 'L', { headers: { 'user-agent': ua } });
    assertOpenAIError(r, { status: 429 }, explain(r));
    const { server, route, clients } = await requestSpans(receiver, ua, { minChildren: 2 });
    assertAttr(server, 'router.attempts', 1, 'int');
    assertAttr(server, 'router.retries', 0, 'int');
    assert.equal(clients.length, 1, 'one attempt');
    assert.equal(route.length, 1, `route spans: ${route.map(describeSpan).join('\n')}`);
  });
});
