// Test function whose module downloads bytes while it loads (init-phase traffic), then does nothing per invoke.
// INIT_FETCH_URL names what to fetch.
import http from 'node:http';

const initBytes = await new Promise((resolve, reject) => {
  http
    .get(process.env.INIT_FETCH_URL, (res) => {
      let n = 0;
      res.on('data', (d) => {
        n += d.length;
      });
      res.on('end', () => resolve(n));
    })
    .on('error', reject);
});

export const handler = async () => ({ initBytes });
