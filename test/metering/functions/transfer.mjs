// Test function (Node): moves a known number of bytes over the network, as the event says, then returns what it
// moved. event: { download?: url, upload?: {host, port, bytes}, sleepMs?: number, throwAfter?: bool }
import http from 'node:http';
import net from 'node:net';

const get = (url) =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let n = 0;
        res.on('data', (d) => {
          n += d.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });

const echo = ({ host, port, bytes }) =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.end(Buffer.alloc(bytes, 'u')));
    let back = 0;
    s.on('data', (d) => {
      back += d.length;
    });
    s.on('close', () => resolve(back));
    s.on('error', reject);
  });

export const handler = async (event) => {
  const out = {};
  try {
    if (event.download) out.downloaded = await get(event.download);
    if (event.upload) out.echoed = await echo(event.upload);
  } catch (e) {
    out.error = e.code ?? String(e);
  }
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  if (event.throwAfter) throw Object.assign(new Error('handler failed on purpose'), { name: 'TestError' });
  return out;
};
