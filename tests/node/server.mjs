// A small OpenAI-style HTTPS server on Node's own TLS. Node links OpenSSL
// statically and drives it through memory BIOs: SSL_read/SSL_write make no
// nested syscall, so this is the server that exercises distillguard's
// --ssl-binary attachment and its "untied" path.
//   node tests/node/server.mjs PORT CERT KEY
import https from 'node:https';
import fs from 'node:fs';

const [port, cert, key] = process.argv.slice(2);

function answer(req, res, body) {
  let parsed;
  try {
    parsed = JSON.parse(body || '{}');
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"bad JSON"}}');
    return;
  }
  const n = Number(req.headers['x-dg-tokens'] || parsed.max_tokens || 16);
  const model = parsed.model || 'node-server';
  if (parsed.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < n; i++) {
      res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', model,
        choices: [{ index: 0, delta: { content: `tok${i} ` } }] })}\n\n`);
    }
    res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', model, choices: [],
      usage: { prompt_tokens: 3, completion_tokens: n, total_tokens: n + 3 } })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  const text = Array.from({ length: n }, (_, i) => `tok${i} `).join('');
  const out = JSON.stringify({ id: 'x', object: 'chat.completion', model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: n, total_tokens: n + 3 } });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
}

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
  (req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => answer(req, res, Buffer.concat(parts).toString()));
  });
server.keepAliveTimeout = 30000;
server.listen(Number(port), '127.0.0.1', () => process.stderr.write(`listening ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
