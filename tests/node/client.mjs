#!/usr/bin/env node
// Drive scripts/endpoint.py (directly or through scripts/nginx.sh) with the
// official `openai` npm package: chat completions, streaming or not.
//
//   node tests/node/client.mjs [--base-url URL] [--api-key KEY] [--requests N]
//        [--concurrency C] [--stream | --no-stream] [--model M]
//        [--max-tokens N] [--tokens N]
//
// Options fall back to env: DG_BASE_URL (default https://127.0.0.1:18443/v1),
// DG_API_KEY (sk-test-node), DG_REQUESTS (10), DG_CONCURRENCY (2),
// DG_STREAM (0/1), DG_MODEL (dg-small), DG_MAX_TOKENS, DG_TOKENS.
// --tokens sends x-dg-tokens so the answer length is known exactly.
// The self-signed certificate is accepted (NODE_TLS_REJECT_UNAUTHORIZED=0 for
// this process); connections are kept alive by Node's fetch (undici) pool.
// One JSON line per request on stdout:
//   {"i":..,"stream":..,"model":..,"output_tokens":..,"ok":true,
//    "path":"/v1/chat/completions","key":..,"tokens":expected,"status":200}
// output_tokens is usage.completion_tokens (non-stream; stream when the
// server sends usage, which stream_options.include_usage asks for), else the
// number of content chunks. Exit status 1 if any request failed or returned a
// different number of tokens than expected.

import OpenAI from 'openai';

function parseArgs(argv) {
  const out = {};
  for (let k = 0; k < argv.length; k++) {
    let a = argv[k];
    if (a === '-h' || a === '--help') {
      out.help = true;
      continue;
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else if (a === 'stream') {
      v = '1';
    } else if (a === 'no-stream') {
      a = 'stream';
      v = '0';
    } else {
      if (k + 1 >= argv.length) throw new Error(`--${a} needs a value`);
      v = argv[++k];
    }
    out[a] = v;
  }
  return out;
}

function usage() {
  process.stderr.write(
    'usage: client.mjs [--base-url URL] [--api-key KEY] [--requests N] [--concurrency C]\n' +
      '                  [--stream|--no-stream] [--model M] [--max-tokens N] [--tokens N]\n');
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`client.mjs: ${e.message}\n`);
  usage();
  process.exit(2);
}
if (args.help) {
  usage();
  process.exit(0);
}
const known = ['base-url', 'api-key', 'requests', 'concurrency', 'stream', 'model', 'max-tokens', 'tokens'];
for (const k of Object.keys(args)) {
  if (!known.includes(k)) {
    process.stderr.write(`client.mjs: unknown option --${k}\n`);
    usage();
    process.exit(2);
  }
}

const env = process.env;
const pick = (name, envName, dflt) => args[name] ?? env[envName] ?? dflt;
const toInt = (name, v) => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`client.mjs: --${name} must be a non-negative integer\n`);
    process.exit(2);
  }
  return n;
};
const truthy = (v) => ['1', 'true', 'yes', 'on'].includes(String(v).toLowerCase());

const baseURL = pick('base-url', 'DG_BASE_URL', 'https://127.0.0.1:18443/v1');
const apiKey = pick('api-key', 'DG_API_KEY', 'sk-test-node');
const requests = toInt('requests', pick('requests', 'DG_REQUESTS', '10'));
const concurrency = Math.max(1, toInt('concurrency', pick('concurrency', 'DG_CONCURRENCY', '2')));
const stream = truthy(pick('stream', 'DG_STREAM', '0'));
const model = pick('model', 'DG_MODEL', 'dg-small');
const maxTokens = toInt('max-tokens', pick('max-tokens', 'DG_MAX_TOKENS', undefined));
const tokens = toInt('tokens', pick('tokens', 'DG_TOKENS', undefined));

// The endpoint and nginx use throwaway self-signed certificates.
if (baseURL.startsWith('https:')) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const expected = tokens ?? Math.min(maxTokens ?? 64, 4096);
const path = new URL(baseURL).pathname.replace(/\/+$/, '') + '/chat/completions';

const client = new OpenAI({
  baseURL,
  apiKey,
  maxRetries: 0, // a retry would send a request the test did not count
  timeout: 60_000,
  defaultHeaders: tokens !== undefined ? { 'x-dg-tokens': String(tokens) } : {},
});

async function one(i) {
  const body = {
    model,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: `node request ${i}: explain binary search trees.` },
    ],
  };
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  let n;
  if (stream) {
    const s = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let chunks = 0;
    let usage = null;
    for await (const ev of s) {
      for (const ch of ev.choices ?? []) if (ch.delta?.content) chunks++;
      if (ev.usage) usage = ev.usage.completion_tokens;
    }
    n = usage ?? chunks;
  } else {
    const r = await client.chat.completions.create(body);
    n = r.usage?.completion_tokens ?? null;
  }
  return n;
}

let next = 0;
let failed = 0;
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function worker() {
  while (next < requests) {
    const i = next++;
    const rec = { i, stream, model, output_tokens: null, ok: false, path, key: apiKey, tokens: expected };
    try {
      rec.output_tokens = await one(i);
      rec.status = 200;
      if (rec.output_tokens === expected) {
        rec.ok = true;
      } else {
        rec.error = `expected ${expected} output tokens`;
      }
    } catch (e) {
      rec.status = e?.status ?? null;
      rec.error = String(e?.message ?? e);
    }
    if (!rec.ok) failed++;
    emit(rec);
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(requests, 1)) }, worker));
const dt = (performance.now() - t0) / 1000;
process.stderr.write(
  `client.mjs: ${requests - failed} ok, ${failed} failed, concurrency ${concurrency}, ${dt.toFixed(2)} s\n`);
process.exitCode = failed ? 1 : 0;
