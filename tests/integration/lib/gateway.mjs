// Test helpers for running the switchyard binary and talking to it.
//
// - startGateway(): writes a config into a fresh temp dir, spawns `switchyard serve` on 127.0.0.1:0, waits for the
//   "listening" log line (bounded) and returns a Gateway whose stop() sends SIGTERM (SIGKILL after a bound).
//   All stderr of every run is kept on the Gateway (and in allGatewayStderr()) so tests can look for secrets.
// - checkConfig(): runs `switchyard check-config FILE`.
// - request()/postJson(): small fetch wrappers with a bounded time; assertOpenAIError() checks the error shape.
// - SseReader: reads SSE events incrementally from a fetch Response body, every read bounded.
// - RawConn: a raw TCP connection with a small HTTP/1.1 response parser, for limit and keep-alive tests.
// - waitFor()/withTimeout(): bounded polling and bounded awaiting; nothing here sleeps a fixed time to wait.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// SWITCHYARD_BIN: absolute, or relative to the current directory, or else to the repository root.
export const SWITCHYARD_BIN = (() => {
  const v = process.env.SWITCHYARD_BIN;
  if (!v) return path.join(REPO_ROOT, 'build', 'switchyard');
  if (path.isAbsolute(v)) return v;
  const fromCwd = path.resolve(v);
  return fs.existsSync(fromCwd) ? fromCwd : path.resolve(REPO_ROOT, v);
})();
export const HOST = '127.0.0.1';

const VERBOSE = !!process.env.SWITCHYARD_TEST_LOG;

// ---------------------------------------------------------------------------------------------------------------
// Small async utilities

export class TimeoutError extends Error {}

/** Resolves/rejects like `promise`, or rejects with a TimeoutError after `ms`. */
export function withTimeout(promise, ms, label = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${label}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` (sync or async) every `intervalMs` until it returns a truthy value; bounded by `timeoutMs`. */
export async function waitFor(predicate, { timeoutMs = 5000, intervalMs = 20, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new TimeoutError(
        `waitFor(${message}) timed out after ${timeoutMs} ms` + (lastError ? `; last error: ${lastError.message}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, noted, closed). */
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, HOST, resolve);
  });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------------------------------
// Config files

/** Serialises a plain JS object into block-style YAML (strings double-quoted). Enough for gateway configs. */
export function toYaml(obj) {
  const lines = [];
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const scalar = (v) => {
    if (v === null) return 'null';
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(String(v));
  };
  // Plain keys as they are; others ("*", which YAML reads as an alias) double-quoted.
  const key = (k) => (/^[A-Za-z0-9_][A-Za-z0-9_.\-\/]*$/.test(k) ? k : JSON.stringify(k));
  const map = (o, ind, firstPrefix) => {
    let first = true;
    for (const [rawKey, v] of Object.entries(o)) {
      const k = key(rawKey);
      if (v === undefined) continue;
      const pre = first && firstPrefix !== undefined ? firstPrefix : ' '.repeat(ind);
      first = false;
      if (isObj(v) && Object.keys(v).length) {
        lines.push(`${pre}${k}:`);
        map(v, ind + 2);
      } else if (Array.isArray(v) && v.length) {
        lines.push(`${pre}${k}:`);
        seq(v, ind + 2);
      } else {
        lines.push(`${pre}${k}: ${isObj(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v)}`);
      }
    }
  };
  const seq = (a, ind) => {
    for (const v of a) {
      if (isObj(v) && Object.keys(v).length) map(v, ind + 2, ' '.repeat(ind) + '- ');
      else if (Array.isArray(v)) throw new Error('toYaml: nested sequences are not supported');
      else lines.push(`${' '.repeat(ind)}- ${isObj(v) ? '{}' : scalar(v)}`);
    }
  };
  map(obj, 0);
  return lines.join('\n') + '\n';
}

/** Writes `config` (YAML text or a JS object) to config.yaml in a fresh temp dir. */
export async function writeTempConfig(config, fileName = 'config.yaml') {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'switchyard-test-'));
  const file = path.join(dir, fileName);
  await fsp.writeFile(file, typeof config === 'string' ? config : toYaml(config));
  return {
    dir,
    file,
    cleanup: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

function assertBinary() {
  if (!fs.existsSync(SWITCHYARD_BIN)) {
    throw new Error(`switchyard binary not found at ${SWITCHYARD_BIN}: build it first or set SWITCHYARD_BIN`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

const liveProcesses = new Set();
process.on('exit', () => {
  // Last resort only: every test stops its gateways in after hooks.
  for (const p of liveProcesses) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
});

const stderrOfAllRuns = [];
/** Everything every gateway started by this process wrote to stderr so far. */
export function allGatewayStderr() {
  return stderrOfAllRuns.map((r) => r.text()).join('\n');
}

/** Runs `switchyard check-config FILE`; resolves {code, signal, stdout, stderr}. */
export async function checkConfig(file, { env = {}, timeoutMs = 10_000 } = {}) {
  assertBinary();
  return runBinary(['check-config', file], { env, timeoutMs });
}

/** Runs the binary with `args` to completion (bounded); resolves {code, signal, stdout, stderr}. */
export function runBinary(args, { env = {}, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(SWITCHYARD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: mergeEnv(env) });
    liveProcesses.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      liveProcesses.delete(proc);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      liveProcesses.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function mergeEnv(env) {
  const merged = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || v === null) delete merged[k];
    else merged[k] = String(v);
  }
  return merged;
}

export class Gateway {
  constructor({ proc, dir, configPath, cleanup }) {
    this.proc = proc;
    this.dir = dir;
    this.configPath = configPath;
    this._cleanup = cleanup;
    this._stderr = [];
    this._stdout = [];
    this.port = undefined;
    this.exitResult = undefined;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitResult = { code, signal };
        liveProcesses.delete(proc);
        resolve(this.exitResult);
      });
      proc.on('error', (error) => {
        // a spawn failure: there is no process to wait for
        if (proc.pid === undefined && this.exitResult === undefined) {
          this.exitResult = { code: null, signal: null, error };
          liveProcesses.delete(proc);
          resolve(this.exitResult);
        }
      });
    });
    stderrOfAllRuns.push(this);
  }
  /** All stderr of this run so far. */
  get stderr() {
    return this._stderr.join('');
  }
  get stdout() {
    return this._stdout.join('');
  }
  text() {
    return this.stderr + this.stdout;
  }
  /** stderr parsed as JSON lines (lines that are not JSON are returned as {raw}). */
  logLines() {
    return this.stderr
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return { raw: l };
        }
      });
  }
  get origin() {
    return `http://${HOST}:${this.port}`;
  }
  /** The base URL the openai SDK wants. */
  get baseURL() {
    return `${this.origin}/v1`;
  }
  url(p) {
    return this.origin + p;
  }
  get running() {
    return this.exitResult === undefined;
  }
  /**
   * Sends `signal` (SIGTERM) and awaits exit; SIGKILL after `timeoutMs`. Removes the temp dir.
   * Resolves {code, signal, killed}. Safe to call more than once.
   */
  async stop({ signal = 'SIGTERM', timeoutMs = 10_000 } = {}) {
    let killed = false;
    if (this.running) {
      this.proc.kill(signal);
      try {
        await withTimeout(this.exited, timeoutMs, 'gateway exit after ' + signal);
      } catch {
        killed = true;
        this.proc.kill('SIGKILL');
        await withTimeout(this.exited, 5000, 'gateway exit after SIGKILL').catch(() => {});
      }
    }
    if (this._cleanup) {
      await this._cleanup().catch(() => {});
      this._cleanup = null;
    }
    if (VERBOSE) process.stderr.write(`--- gateway stderr (port ${this.port}) ---\n${this.stderr}\n`);
    return { ...this.exitResult, killed };
  }
}

/**
 * Starts `switchyard serve` with `config` (YAML text or JS object) on 127.0.0.1 port 0.
 * Resolves a Gateway once the "listening" line is on stderr; rejects (with the collected stderr) if the process
 * exits first or nothing is heard within `startTimeoutMs`. `bin` runs another path of the binary.
 */
export async function startGateway({ config, workers = 2, env = {}, args = [], startTimeoutMs = 15_000, bin = SWITCHYARD_BIN } = {}) {
  assertBinary();
  const { dir, file, cleanup } = await writeTempConfig(config);
  const proc = spawn(
    bin,
    ['serve', '--config', file, '--host', HOST, '--port', '0', '--workers', String(workers), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: mergeEnv(env) },
  );
  liveProcesses.add(proc);
  const gw = new Gateway({ proc, dir, configPath: file, cleanup });
  proc.stdout.setEncoding('utf8').on('data', (d) => gw._stdout.push(d));

  let lineBuf = '';
  let onListening;
  const listening = new Promise((resolve) => (onListening = resolve));
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    gw._stderr.push(d);
    if (gw.port !== undefined) return;
    lineBuf += d;
    let i;
    while ((i = lineBuf.indexOf('\n')) >= 0) {
      const line = lineBuf.slice(0, i);
      lineBuf = lineBuf.slice(i + 1);
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      if (obj && obj.msg === 'listening' && Number.isInteger(Number(obj.port)) && Number(obj.port) > 0) {
        gw.port = Number(obj.port);
        onListening(gw.port);
        return;
      }
    }
  });
  const spawnError = new Promise((_, reject) => proc.on('error', reject));
  const exitedEarly = gw.exited.then(({ code, signal }) => {
    throw new Error(`switchyard exited (code ${code}, signal ${signal}) before listening; stderr:\n${gw.stderr}`);
  });
  try {
    await withTimeout(Promise.race([listening, spawnError, exitedEarly]), startTimeoutMs, 'gateway start');
  } catch (e) {
    await gw.stop({ signal: 'SIGKILL', timeoutMs: 5000 });
    if (e instanceof TimeoutError) e.message += `; stderr so far:\n${gw.stderr}`;
    throw e;
  }
  exitedEarly.catch(() => {}); // exits after this point are the test's business
  spawnError.catch(() => {});
  return gw;
}

// ---------------------------------------------------------------------------------------------------------------
// Configs used by several test files

export const MASTER_KEY = 'sk-test-master';
export const UPSTREAM_KEY = 'sk-upstream-secret-123';

/** A model_list entry for the built-in mock provider. */
export function mockModel(name, extra = {}) {
  return { model_name: name, litellm_params: { model: `mock/${name}`, ...extra } };
}

/** A model_list entry for an openai/ deployment pointing at a mock upstream. */
export function upstreamModel(name, upstreamModelId, apiBase, extra = {}) {
  return {
    model_name: name,
    litellm_params: { model: `openai/${upstreamModelId}`, api_base: apiBase, api_key: UPSTREAM_KEY, ...extra },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP over fetch

function originOf(target) {
  return typeof target === 'string' ? target.replace(/\/+$/, '') : target.origin;
}

/** The interesting part of a gateway's stderr: a sanitizer or crash report when there is one, else the tail. */
export function stderrExcerpt(stderr, tailLines = 8) {
  const lines = stderr.split('\n');
  const i = lines.findIndex((l) => /==\d+==ERROR:|runtime error:|terminate called|Assertion .* failed|free\(\)|double free|Segmentation/.test(l));
  const clip = (l) => (l.length > 240 ? l.slice(0, 240) + '…' : l);
  if (i >= 0) {
    // the report's first line, the frames in the project's own sources, and the summary
    const rest = lines.slice(i + 1);
    const own = rest.filter((l) => /^\s*#\d+ .* in sy::|\/src\/[^ ]*\.(cpp|h):\d+/.test(l) && !/\/usr\//.test(l)).slice(0, 10);
    const summary = rest.filter((l) => /^SUMMARY:/.test(l)).slice(0, 1);
    return [lines[i], ...own, ...summary].map(clip).join('\n');
  }
  return lines.slice(-tailLines).map(clip).join('\n');
}

/** fetch, with a transport failure explained by the gateway's state (exited? its last stderr lines). */
async function fetchExplained(target, url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (target instanceof Gateway) {
      // let a crash be noticed before describing it
      await withTimeout(target.exited, 200, 'exit').catch(() => {});
      const state = target.running
        ? 'the gateway is still running'
        : `the gateway has exited (code ${target.exitResult.code}, signal ${target.exitResult.signal})`;
      const tail = stderrExcerpt(target.stderr);
      e.message += ` [${init?.method ?? 'GET'} ${url}: ${e.cause?.code ?? e.cause?.message ?? e.name}; ${state}; stderr tail:\n${tail}]`;
    }
    throw e;
  }
}

/**
 * fetch with a bounded time. Options: method, headers, body (string), json (serialised), key (Bearer),
 * timeoutMs. Resolves {status, headers, text, json}.
 */
export async function request(target, p, { method, headers = {}, body, json, key, timeoutMs = 10_000 } = {}) {
  const h = { ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const res = await fetchExplained(target, originOf(target) + p, {
    method: method ?? (payload !== undefined ? 'POST' : 'GET'),
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json: parsed };
}

export function postJson(target, p, json, opts = {}) {
  return request(target, p, { ...opts, method: 'POST', json });
}

/** One signal that aborts when any of `signals` does (AbortSignal.any where available). */
function anySignal(signals) {
  if (signals.length === 1) return signals[0];
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals);
  const ac = new AbortController();
  for (const s of signals) {
    if (s.aborted) ac.abort(s.reason);
    else s.addEventListener('abort', () => ac.abort(s.reason), { once: true });
  }
  return ac.signal;
}

/** Starts a streaming POST and returns {res, sse} once the response head has arrived; nothing of the body read. */
export async function postStream(target, p, json, { key, headers = {}, timeoutMs = 10_000, signal } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (signal) signals.push(signal);
  const res = await fetchExplained(target, originOf(target) + p, {
    method: 'POST',
    headers: h,
    body: JSON.stringify(json),
    signal: anySignal(signals),
  });
  return { res, sse: new SseReader(res) };
}

/** Asserts an OpenAI-shaped error response: {"error":{"message","type","param","code"}} with the given fields. */
export function assertOpenAIError(r, { status, type, code, param } = {}, context = '') {
  const where = `${context ? context + ': ' : ''}status ${r.status} body ${r.text}`;
  if (status !== undefined) assert.equal(r.status, status, `unexpected status; ${where}`);
  assert.ok(r.json && typeof r.json === 'object', `error body is not JSON; ${where}`);
  const e = r.json.error;
  assert.ok(e && typeof e === 'object' && !Array.isArray(e), `no "error" object; ${where}`);
  assert.equal(typeof e.message, 'string', `error.message must be a string; ${where}`);
  assert.ok(e.message.length > 0, `error.message is empty; ${where}`);
  assert.equal(typeof e.type, 'string', `error.type must be a string; ${where}`);
  assert.ok(e.param === null || typeof e.param === 'string', `error.param must be string|null; ${where}`);
  assert.ok(e.code === null || typeof e.code === 'string', `error.code must be string|null; ${where}`);
  assert.ok('param' in e && 'code' in e, `error.param and error.code must be present; ${where}`);
  if (type !== undefined) assert.equal(e.type, type, `error.type; ${where}`);
  if (code !== undefined) assert.equal(e.code, code, `error.code; ${where}`);
  if (param !== undefined) assert.equal(e.param, param, `error.param; ${where}`);
  const ct = r.headers?.get ? r.headers.get('content-type') : r.headers?.['content-type'];
  if (ct !== undefined && ct !== null) assert.match(ct, /application\/json/, `content-type of an error; ${where}`);
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// Server-sent events

/**
 * Reads SSE events incrementally from a fetch Response body. Each next() is bounded; a read that timed out is
 * kept and reused by the next call, so no bytes are lost. Events: {event, data, json} where json is the parsed
 * data (undefined for "[DONE]" or non-JSON). A transport error ends the stream and is kept in `.error`.
 */
export class SseReader {
  constructor(res) {
    this.res = res;
    this._reader = null; // taken on first use, so res.text() stays usable for a response that is not a stream
    this.decoder = new TextDecoder();
    this.buf = '';
    this.queue = [];
    this.done = false;
    this.error = null;
    this.pending = null;
    this.events = []; // every event returned so far
  }

  get reader() {
    if (!this._reader) this._reader = this.res.body.getReader();
    return this._reader;
  }

  _parseBlocks(final) {
    // Normalise CRLF/CR line ends, keeping a trailing CR that may be half of a CRLF split across reads.
    let text = this.buf;
    let keep = '';
    if (!final && text.endsWith('\r')) {
      keep = '\r';
      text = text.slice(0, -1);
    }
    text = text.replace(/\r\n?/g, '\n');
    const blocks = text.split('\n\n');
    this.buf = (final ? '' : blocks.pop()) + keep;
    for (const block of blocks) {
      const ev = parseSseBlock(block);
      if (ev) this.queue.push(ev);
    }
  }

  /** The next event, or null at end of stream. Throws TimeoutError when none arrives within timeoutMs. */
  async next(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.queue.length) {
        const ev = this.queue.shift();
        this.events.push(ev);
        return ev;
      }
      if (this.done) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(`no SSE event within ${timeoutMs} ms`);
      if (!this.pending) this.pending = this.reader.read();
      let r;
      try {
        r = await withTimeout(this.pending, remaining, 'SSE read');
      } catch (e) {
        if (e instanceof TimeoutError) throw new TimeoutError(`no SSE event within ${timeoutMs} ms`);
        this.pending = null;
        this.error = e;
        this.done = true;
        this._parseBlocks(true);
        continue;
      }
      this.pending = null;
      if (r.done) {
        this.buf += this.decoder.decode();
        this.done = true;
        this._parseBlocks(true);
        continue;
      }
      this.buf += this.decoder.decode(r.value, { stream: true });
      this._parseBlocks(false);
    }
  }

  /** Reads every remaining event until the end of the stream, all within timeoutMs. */
  async all(timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    const out = [];
    for (;;) {
      const ev = await this.next(Math.max(1, deadline - Date.now()));
      if (ev === null) return out;
      out.push(ev);
    }
  }

  async cancel() {
    try {
      if (this._reader) await this._reader.cancel();
      else await this.res.body?.cancel();
    } catch {}
  }
}

export function parseSseBlock(block) {
  const data = [];
  let event;
  let id;
  let sawField = false;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    sawField = true;
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  }
  if (!sawField || (data.length === 0 && event === undefined)) return null;
  const d = data.join('\n');
  let json;
  if (d !== '[DONE]') {
    try {
      json = JSON.parse(d);
    } catch {}
  }
  return { event, id, data: d, json };
}

/** Splits chat.completion.chunk events of a finished stream: {chunks, done, errors, others}. */
export function classifyChatEvents(events) {
  const chunks = [];
  const errors = [];
  const others = [];
  let done = false;
  let afterDone = 0;
  for (const ev of events) {
    if (done) afterDone++;
    if (ev.data === '[DONE]') done = true;
    else if (ev.json && ev.json.error) errors.push(ev.json.error);
    else if (ev.json && ev.json.object === 'chat.completion.chunk') chunks.push(ev.json);
    else others.push(ev);
  }
  const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  return { chunks, done, afterDone, errors, others, content };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw TCP

/**
 * A raw TCP connection to the gateway. Data is buffered; readResponse() parses one HTTP/1.1 response
 * (Content-Length, chunked, or until close) from it. Every wait is bounded.
 */
export class RawConn {
  static open(port, { host = HOST, timeoutMs = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new TimeoutError(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConn(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.ended = false;
    this.error = null;
    this.openedAt = Date.now();
    this.closedAt = null;
    this._waiters = new Set();
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this._notify();
    });
    sock.on('end', () => {
      this.ended = true;
      this._notify();
    });
    sock.on('error', (e) => {
      this.error = e;
      this._notify();
    });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this._notify();
    });
  }

  _notify() {
    for (const w of this._waiters) w();
  }

  /** Resolves when `check()` returns a non-undefined value (re-checked on every socket event). */
  _until(check, timeoutMs, label) {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        let v;
        try {
          v = check();
        } catch (e) {
          cleanup();
          reject(e);
          return;
        }
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        this._waiters.delete(attempt);
      };
      timer = setTimeout(() => {
        cleanup();
        reject(new TimeoutError(`${label}: timed out after ${timeoutMs} ms; received so far: ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`));
      }, timeoutMs);
      this._waiters.add(attempt);
      attempt();
    });
  }

  /** Writes data; resolves when handed to the OS (errors are kept on .error, not thrown). */
  write(data) {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve(false);
      this.sock.write(data, (err) => {
        if (err) this.error = err;
        resolve(!err);
      });
    });
  }

  /** Parses and consumes one response from the buffer, waiting (bounded) for it to be complete. */
  readResponse({ timeoutMs = 5000 } = {}) {
    return this._until(
      () => {
        for (;;) {
          const parsed = parseHttpResponse(this.buf, this.closed || this.ended);
          if (parsed === undefined) {
            if (this.closed) {
              throw new Error(
                `connection closed before a complete response (error: ${this.error?.code ?? 'none'}); ` +
                  `received: ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`,
              );
            }
            return undefined;
          }
          this.buf = this.buf.subarray(parsed.consumed);
          if (parsed.status >= 100 && parsed.status < 200) continue; // 100 Continue and friends
          return parsed;
        }
      },
      timeoutMs,
      'readResponse',
    );
  }

  /** Resolves the time (ms since open) at which the peer closed the connection; bounded. */
  waitClosed({ timeoutMs = 5000 } = {}) {
    return this._until(() => (this.closed || this.ended ? (this.closedAt ?? Date.now()) - this.openedAt : undefined), timeoutMs, 'waitClosed');
  }

  destroy() {
    this.sock.destroy();
  }
}

/** Parses one HTTP response at the start of buf. undefined: incomplete. */
export function parseHttpResponse(buf, eof) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const status = Number(m[2]);
  const headers = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  let pos = headEnd + 4;
  let body;
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      pos = lineEnd + 2;
      if (size === 0) {
        // trailers until an empty line
        for (;;) {
          const e = buf.indexOf('\r\n', pos);
          if (e < 0) return undefined;
          const empty = e === pos;
          pos = e + 2;
          if (empty) break;
        }
        break;
      }
      if (buf.length < pos + size + 2) return undefined;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return undefined;
    body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    if (!eof) return undefined;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  const text = body.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { httpVersion: m[1], status, reason: m[3] ?? '', headers, text, json, consumed: pos };
}

/** Builds a raw HTTP/1.1 request. */
export function rawHttpRequest(method, p, { headers = {}, body, key, host = '127.0.0.1' } = {}) {
  const h = { host, ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  let payload = '';
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    if (!Object.keys(h).some((k) => ['content-length', 'transfer-encoding'].includes(k.toLowerCase()))) {
      h['content-length'] = String(Buffer.byteLength(payload));
    }
  }
  return `${method} ${p} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + payload;
}

/** Asserts none of `secrets` appears in `text`. */
export function assertNoSecrets(text, secrets, where = 'text') {
  for (const s of secrets) {
    assert.ok(!text.includes(s), `${where} contains the secret ${JSON.stringify(s)}`);
  }
}
