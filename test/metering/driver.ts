/**
 * Runs one function the way Lambda does, for the agent tests: a real Runtime API (demo/runtime-api.ts) on this
 * process's loopback, the runtime started through the real exec wrapper (or, `direct`, with only LD_PRELOAD and the
 * policy in its environment, as on provided.* runtimes and container images), invokes with request ids, and a JSON
 * report on stdout. Bundled by esbuild (harness.ts) and run inside the function's network namespace.
 *
 * Plan (argv[2], JSON): { command: string[], env, direct?: bool, invokes: [{ requestId, event, timeoutMs? }],
 *   killAgentAfterMs?: number (kill the agent that long into the first invoke), settleMs?: number }
 * Report: { outcomes: InvokeOutcome|{requestId, failed}[], requests: string[], exit: code|signal|null, stdout, stderr }
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RuntimeApi } from '../../demo/runtime-api.js';
import { STATE_FIELD } from '../../policy/gen/state.js';

interface Plan {
  command: string[];
  env: Record<string, string>;
  wrapper?: string;
  invokes: { requestId: string; event?: unknown; timeoutMs?: number }[];
  killAgentAfterMs?: number;
  settleMs?: number;
  statePath?: string;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const api = new RuntimeApi('arn:aws:lambda:us-east-1:000000000000:function:agent-test');
const address = await api.listen();
const argv = plan.wrapper ? [plan.wrapper, ...plan.command] : plan.command;
const child = spawn(argv[0] as string, argv.slice(1), {
  env: { ...plan.env, AWS_LAMBDA_RUNTIME_API: address },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stdout = '';
let stderr = '';
child.stdout.on('data', (d: Buffer) => {
  stdout += d.toString();
});
child.stderr.on('data', (d: Buffer) => {
  stderr += d.toString();
});
let exit: string | number | null = null;
const exited = new Promise<void>((ok) =>
  child.on('exit', (code, sig) => {
    exit = code ?? sig;
    api.fail(`the runtime process exited (${code ?? sig})`);
    ok();
  }),
);

function agentPid(): number {
  const b = readFileSync(plan.statePath as string);
  return Number(b.readBigUInt64LE(STATE_FIELD.agent_pid.offset));
}

const outcomes: unknown[] = [];
for (const [i, inv] of plan.invokes.entries()) {
  if (i === 0 && plan.killAgentAfterMs !== undefined) {
    setTimeout(() => {
      try {
        process.kill(agentPid(), 'SIGKILL');
      } catch (e) {
        stderr += `driver: cannot kill the agent: ${e}\n`;
      }
    }, plan.killAgentAfterMs);
  }
  const started = Date.now();
  try {
    outcomes.push(await api.invoke(inv.event ?? {}, { requestId: inv.requestId, timeoutMs: inv.timeoutMs ?? 20_000 }));
  } catch (e) {
    outcomes.push({ requestId: inv.requestId, failed: String((e as Error).message), afterMs: Date.now() - started });
  }
  if (exit !== null) break;
}
await new Promise((r) => setTimeout(r, plan.settleMs ?? 300)); // the agent's lines after the last response
child.kill('SIGTERM');
await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
await api.close();
process.stdout.write(`${JSON.stringify({ outcomes, requests: api.requests, exit, stdout, stderr })}\n`);
process.exit(0);
