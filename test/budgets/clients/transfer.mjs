// A Node function body that moves bytes the way real code does, for the budget tests (test/budgets/).
// Usage: node transfer.mjs CASE URL [BYTES]; prints one JSON line {ok, bytes, error?: {code, message}}.
//   fetch-download, http-download: GET URL and read the whole body (bytes = body bytes received)
//   fetch-upload, http-upload: POST BYTES bytes to URL in one call (bytes = what the client reported sent)
//   s3-upload: PutObject of a BYTES-byte stream with @aws-sdk/client-s3 to the S3 endpoint URL (bucket "budget")
import http from 'node:http';
import { Readable } from 'node:stream';

const [kind, url, size] = process.argv.slice(2);
const n = Number(size ?? 0);

function report(ok, bytes, error) {
  const e = error ? { code: error.code ?? error.cause?.code ?? error.name, message: String(error.message) } : undefined;
  process.stdout.write(`${JSON.stringify({ ok, bytes, error: e })}\n`);
}

async function fetchDownload() {
  let bytes = 0;
  try {
    const res = await fetch(url);
    for await (const chunk of res.body) bytes += chunk.length;
    report(true, bytes);
  } catch (e) {
    report(false, bytes, e);
  }
}

function httpDownload() {
  let bytes = 0;
  const req = http.get(url, (res) => {
    res.on('data', (c) => {
      bytes += c.length;
    });
    res.on('end', () => report(res.complete, bytes, res.complete ? undefined : new Error('response ended early')));
    res.on('error', (e) => report(false, bytes, e));
  });
  req.on('error', (e) => report(false, bytes, e));
}

async function fetchUpload() {
  try {
    const res = await fetch(url, { method: 'POST', body: Buffer.alloc(n, 0x75) });
    await res.text();
    report(res.ok, n);
  } catch (e) {
    report(false, 0, e);
  }
}

function httpUpload() {
  const req = http.request(url, { method: 'POST', headers: { 'content-length': n } }, (res) => {
    res.resume();
    res.on('end', () => report(res.statusCode === 200, n));
  });
  req.on('error', (e) => report(false, req.socket?.bytesWritten ?? 0, e));
  req.end(Buffer.alloc(n, 0x75));
}

async function s3Upload() {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
  const chunk = Buffer.alloc(64 * 1024, 0x73);
  let left = n;
  const body = new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= c.length;
      this.push(c);
    },
  });
  try {
    await s3.send(new PutObjectCommand({ Bucket: 'budget', Key: 'node-object', Body: body, ContentLength: n }));
    report(true, n);
  } catch (e) {
    report(false, n - left, e);
  }
}

const cases = {
  'fetch-download': fetchDownload,
  'http-download': httpDownload,
  'fetch-upload': fetchUpload,
  'http-upload': httpUpload,
  's3-upload': s3Upload,
};
if (!cases[kind]) {
  process.stderr.write(`transfer.mjs: unknown case ${kind}\n`);
  process.exit(2);
}
await cases[kind]();
