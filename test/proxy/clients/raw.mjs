// The attacker's tool of the proxy tests: sends a hand-written request head (argv[3], base64) to the proxy at
// argv[2] ("127.0.0.1:9128") on one TCP connection, half-closes, and prints everything that comes back. argv[4]
// (optional): milliseconds to leave the answer unread first (a slow reader: the proxy's buffers fill up).
import net from 'node:net';

const [host, port] = process.argv[2].split(':');
const head = Buffer.from(process.argv[3], 'base64');
const pauseMs = Number(process.argv[4] ?? 0);
const sock = net.connect(Number(port), host, () => {
  if (pauseMs > 0) {
    sock.pause();
    setTimeout(() => sock.resume(), pauseMs);
  }
  sock.end(head);
});
const chunks = [];
sock.on('data', (d) => chunks.push(d));
sock.on('error', (e) => chunks.push(Buffer.from(`\nERROR ${e.code}`)));
sock.on('close', () => process.stdout.write(Buffer.concat(chunks)));
sock.setTimeout(10_000, () => sock.destroy());
