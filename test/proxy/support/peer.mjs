// The peer of the proxy-mode tests: HTTP (and HTTPS) servers inside the test's network namespace that record, per
// request, how many body bytes actually arrived and whether the body arrived complete — the witness of what the
// proxy let through (docs/PROXY.md). Started by ./lab.ts; argv[2] is a JSON spec:
//   {"http": [{"host": "10.78.0.2", "port": 8080}], "https": [{"host": …, "port": 8443, "key": path, "cert": path}]}
// Prints JSON lines: {"kind":"ready"} once every listener is bound, then one per request:
//   {"kind":"request","listener":"10.78.0.2:8080","method":"PUT","path":"/b/k","bytes":N,"complete":true|false}
// Answers: GET …/bytes/N → N bytes of 'x'; PUT → 200 with an ETag (enough for S3 PutObject); anything else 200 "ok".

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const spec = JSON.parse(process.argv[2] ?? '{}');
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function handler(listener) {
  return (req, res) => {
    let bytes = 0;
    let done = false;
    const report = (complete) => {
      if (done) return;
      done = true;
      emit({ kind: 'request', listener, method: req.method, path: req.url, bytes, complete });
    };
    req.on('data', (d) => {
      bytes += d.length;
    });
    req.on('error', () => report(false));
    req.on('close', () => report(req.complete));
    req.on('end', () => {
      report(true);
      const m = /\/bytes\/(\d+)$/.exec((req.url ?? '').split('?')[0]);
      const body = m ? Buffer.alloc(Number(m[1]), 'x') : Buffer.from('ok\n');
      const headers = { 'content-type': 'text/plain', 'content-length': body.length };
      if (req.method === 'PUT') headers.etag = '"0123456789abcdef"';
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };
}

const pending = [];
for (const l of spec.http ?? []) {
  const server = http.createServer(handler(`${l.host}:${l.port}`));
  pending.push(new Promise((resolve) => server.listen(l.port, l.host, resolve)));
}
for (const l of spec.https ?? []) {
  const server = https.createServer(
    { key: readFileSync(l.key), cert: readFileSync(l.cert) },
    handler(`${l.host}:${l.port}`),
  );
  pending.push(new Promise((resolve) => server.listen(l.port, l.host, resolve)));
}
Promise.all(pending).then(() => emit({ kind: 'ready' }));
