// The attacker's tool of the proxy tests: sends a hand-written request head (argv[3], base64) to the proxy at
// argv[2] ("127.0.0.1:9128") on one TCP connection, half-closes, and prints everything that comes back.
import net from 'node:net';

const [host, port] = process.argv[2].split(':');
const head = Buffer.from(process.argv[3], 'base64');
const sock = net.connect(Number(port), host, () => sock.end(head));
const chunks = [];
sock.on('data', (d) => chunks.push(d));
sock.on('error', (e) => chunks.push(Buffer.from(`\nERROR ${e.code}`)));
sock.on('close', () => process.stdout.write(Buffer.concat(chunks)));
sock.setTimeout(10_000, () => sock.destroy());
