/**
 * The demo's "internet": HTTP servers on addresses of a network namespace the demo created (never a real host).
 * Started inside that namespace by `ip netns exec`; argv[2] is a JSON list of {name, ip, port}.
 *
 * Every listener answers: `GET /bytes/N` → N bytes (N ≤ 256 MiB; the big transfer), `POST …` → reads the body and
 * answers {"received": bytes}, anything else → a small JSON greeting. Prints `{"ready":true}` once every listener is
 * bound, then one JSON line per request ({name, method, path, bytesIn, bytesOut}) on stdout.
 */
import { createServer } from 'node:http';

interface Listener {
  name: string;
  ip: string;
  port: number;
}

const MAX_BYTES = 256 * 1024 * 1024;
const listeners = JSON.parse(process.argv[2] ?? '[]') as Listener[];
const chunk = Buffer.alloc(64 * 1024, 0x61);

await Promise.all(
  listeners.map(
    (l) =>
      new Promise<void>((resolve, reject) => {
        const server = createServer((req, res) => {
          let bytesIn = 0;
          req.on('data', (c: Buffer) => {
            bytesIn += c.length;
          });
          req.on('end', () => {
            const big = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
            let bytesOut = 0;
            if (req.method === 'GET' && big) {
              let left = Math.min(Number(big[1]), MAX_BYTES);
              res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
              bytesOut = left;
              const pump = () => {
                while (left > 0) {
                  const n = Math.min(left, chunk.length);
                  left -= n;
                  if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
                    res.once('drain', pump);
                    return;
                  }
                }
                res.end();
              };
              pump();
            } else {
              const body = JSON.stringify(
                req.method === 'POST' ? { received: bytesIn } : { service: l.name, ok: true },
              );
              bytesOut = body.length;
              res.writeHead(200, { 'content-type': 'application/json' }).end(body);
            }
            process.stdout.write(
              `${JSON.stringify({ name: l.name, method: req.method, path: req.url, bytesIn, bytesOut })}\n`,
            );
          });
        });
        server.on('error', reject);
        server.listen(l.port, l.ip, () => resolve());
      }),
  ),
);
process.stdout.write('{"ready":true}\n');
