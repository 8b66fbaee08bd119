// Shared driver of the Node.js compatibility clients (test/compat/clients/node/*.mjs).
//
// Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"):
// argv[2…] are `step=url` pairs, e.g. `allowed=http://allowed.compat.test:8080/t/fetch/audit/allowed`. For each pair,
// in order, the client performs its operation and prints exactly one line on stdout:
//   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
// `what` is what the program saw: on success a short result (`HTTP 200`, `resolved 10.77.0.2`, `sent 21 bytes`), on
// failure the error identity the program would branch on (`ENOTFOUND`, `EACCES`, `TypeError(cause: EACCES)`).
// `detail` is free text (tabs/newlines removed). Each step has a time limit (`TIMEOUT`). Exit code 0 once every step
// has been reported; anything else means the client itself broke.

const STEP_TIMEOUT_MS = 8_000;

function clean(s) {
  return String(s)
    .replace(/[\t\r\n]+/g, ' ')
    .slice(0, 300);
}

export function report(step, ok, what, detail = '') {
  process.stdout.write(`COMPAT\t${step}\t${ok ? 'ok' : 'error'}\t${clean(what)}\t${clean(detail)}\n`);
}

/** The identity a program sees for an error: its `code`, else its class; `fetch` wraps the real error in `cause`. */
export function identity(e) {
  if (e && typeof e === 'object') {
    if (e.cause && typeof e.cause === 'object') return `${e.name}(cause: ${identity(e.cause)})`;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return String(e);
}

/** Parses argv into [{step, url}]. */
export function steps(argv = process.argv.slice(2)) {
  return argv.map((a) => {
    const i = a.indexOf('=');
    return { step: a.slice(0, i), url: new URL(a.slice(i + 1)) };
  });
}

/** Runs `op(url, step)` for every step, reporting each outcome; `op` resolves to the `what` of a success. */
export async function run(op) {
  for (const { step, url } of steps()) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('step timed out'), { code: 'TIMEOUT' })),
        STEP_TIMEOUT_MS,
      );
    });
    try {
      const what = await Promise.race([op(url, step), timeout]);
      report(step, true, what);
    } catch (e) {
      report(step, false, identity(e), e?.message ?? '');
    } finally {
      clearTimeout(timer);
    }
  }
  // Keep-alive sockets or c-ares channels must not keep the client alive.
  process.exit(0);
}
