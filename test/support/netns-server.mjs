// A multi-protocol test server, started inside a network namespace by netns.ts (`ns.startServer(spec)`).
//
// argv[2] is a JSON ServerSpec (see netns.ts). Prints one JSON line per event on stdout:
//   {"kind":"ready","ports":{"http@10.77.0.1:0":41234,…}}   once every listener is bound
//   {"kind":"http","listener":"10.77.0.1:41234","remote":"10.77.0.1","path":"/"}
//   {"kind":"echo","listener":…,"remote":…,"bytes":N}       once per connection, when the client closes
//   {"kind":"udp","listener":…,"remote":…,"payload":"…"}
//   {"kind":"dns","listener":…,"remote":…,"name":"foo.test","labels":["foo","test"],"qtype":1}
// HTTP answers 200 with the listener's body (or N bytes 'x' for `/bytes/N`); UDP replies `ack:<payload>`; DNS answers
// A/AAAA records from `records` and PTR records from `ptr`, NXDOMAIN for anything else. `name` is the labels joined
// with '.' and lower-cased; `labels` are the exact label bytes (latin1), so a label holding a dot is visible. Runs until
// killed.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const ports = {};
const pending = [];
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const fam = (host) => (host.includes(':') ? 'udp6' : 'udp4');
const hostPort = (host, port) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

for (const l of spec.http ?? []) {
  const server = http.createServer((req, res) => {
    const listener = hostPort(l.host, server.address().port);
    emit({ kind: 'http', listener, remote: req.socket.remoteAddress, path: req.url });
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    const body = m ? Buffer.alloc(Number(m[1]), 'x') : Buffer.from(l.body ?? `hello from ${listener}\n`);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, connection: 'close' });
    res.end(body);
  });
  pending.push(
    new Promise((resolve) =>
      server.listen(l.port, l.host, () => {
        ports[`http@${l.host}:${l.port}`] = server.address().port;
        resolve();
      }),
    ),
  );
}

for (const l of spec.echo ?? []) {
  const server = net.createServer((sock) => {
    let bytes = 0;
    sock.on('data', (d) => {
      bytes += d.length;
      sock.write(d);
    });
    sock.on('end', () => {
      emit({ kind: 'echo', listener: hostPort(l.host, server.address().port), remote: sock.remoteAddress, bytes });
      sock.end();
    });
    sock.on('error', () => {});
  });
  pending.push(
    new Promise((resolve) =>
      server.listen(l.port, l.host, () => {
        ports[`echo@${l.host}:${l.port}`] = server.address().port;
        resolve();
      }),
    ),
  );
}

for (const l of spec.udp ?? []) {
  const sock = dgram.createSocket(fam(l.host));
  sock.on('message', (msg, rinfo) => {
    const payload = msg.toString('utf8');
    emit({ kind: 'udp', listener: hostPort(l.host, sock.address().port), remote: rinfo.address, payload });
    sock.send(`ack:${payload}`, rinfo.port, rinfo.address);
  });
  pending.push(
    new Promise((resolve) =>
      sock.bind(l.port, l.host, () => {
        ports[`udp@${l.host}:${l.port}`] = sock.address().port;
        resolve();
      }),
    ),
  );
}

/** Parses the question of a DNS query; returns {name, qtype, end} or null. */
function parseQuestion(msg) {
  if (msg.length < 12) return null;
  let off = 12;
  const labels = [];
  while (off < msg.length) {
    const len = msg[off];
    if (len === 0) break;
    if (len > 63 || off + 1 + len > msg.length) return null;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 5 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), labels, qtype: msg.readUInt16BE(off + 1), end: off + 5 };
}

function ipBytes(addr) {
  if (!addr.includes(':')) return Buffer.from(addr.split('.').map(Number));
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return b;
}

/** A domain name in wire format (no compression). */
function wireName(name) {
  const parts = name.split('.').filter((p) => p !== '');
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    Buffer.alloc(1),
  ]);
}

for (const l of spec.dns ?? []) {
  const sock = dgram.createSocket(fam(l.host));
  const records = l.records ?? {};
  const ptr = l.ptr ?? {};
  sock.on('message', (msg, rinfo) => {
    const q = parseQuestion(msg);
    if (!q) return;
    emit({ kind: 'dns', listener: hostPort(l.host, sock.address().port), remote: rinfo.address, ...q, end: undefined });
    const want = q.qtype === 28 ? 16 : q.qtype === 1 ? 4 : -1;
    const all = q.qtype === 12 ? (ptr[q.name] === undefined ? undefined : [ptr[q.name]]) : records[q.name];
    const answers =
      q.qtype === 12 ? (all ?? []).map(wireName) : (all ?? []).map(ipBytes).filter((b) => b.length === want);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(all ? 0x8180 : 0x8183, 2); // response, RD+RA; rcode 3 = NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, msg.subarray(12, q.end)];
    for (const a of answers) {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(q.qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(5, 6);
      rr.writeUInt16BE(a.length, 10);
      parts.push(rr, a);
    }
    sock.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  pending.push(
    new Promise((resolve) =>
      sock.bind(l.port, l.host, () => {
        ports[`dns@${l.host}:${l.port}`] = sock.address().port;
        resolve();
      }),
    ),
  );
}

Promise.all(pending).then(() => emit({ kind: 'ready', ports }));
