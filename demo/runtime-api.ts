/**
 * A local Lambda Runtime API endpoint (the HTTP protocol a runtime interface client speaks), serving one function
 * process at a time, on 127.0.0.1 — where real Lambda serves it (AWS_LAMBDA_RUNTIME_API, docs/LAMBDA.md
 * "Runtime API and always-allowed endpoints").
 *
 * Implemented (API version 2018-06-01):
 *   GET  /2018-06-01/runtime/invocation/next          long-polls until `invoke()` queues an event; 200 with the event
 *        as body and headers Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
 *        Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id
 *   POST /2018-06-01/runtime/invocation/{id}/response  202 {"status":"OK"}; settles that invoke as success
 *   POST /2018-06-01/runtime/invocation/{id}/error     202; settles it as a function error (body: errorMessage,
 *        errorType, stackTrace; header Lambda-Runtime-Function-Error-Type)
 *   POST /2018-06-01/runtime/init/error                202; the next/pending invoke fails with the init error
 * An unknown or already settled request id gets 400 InvalidRequestID; a GET …/next while the runtime holds an invoke
 * without a result gets 403 InvalidStateTransition (as Lambda's Runtime API answers it); any other path 404. Invokes
 * are sequential, like one Lambda execution environment: `invoke()` resolves when the runtime posts the outcome, or
 * rejects after `timeoutMs` (the deadline), or when the runtime process dies (`fail()`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InvokeOutcome {
  requestId: string;
  ok: boolean;
  /** Parsed JSON body of the response or error (raw text when it is not JSON). */
  body: unknown;
  errorType?: string;
  durationMs: number;
}

interface Pending {
  requestId: string;
  event: string;
  deadline: number;
  started: number;
  resolve: (o: InvokeOutcome) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const PREFIX = '/2018-06-01/runtime';

export class RuntimeApi {
  private server: Server;
  private queue: Pending[] = [];
  private inFlight = new Map<string, Pending>();
  private waiting: ServerResponse[] = [];
  private initError: unknown;
  /** Every request the runtime made: `METHOD path` (tests and the demo's trace). */
  readonly requests: string[] = [];
  /** Called when a request head arrives (the benchmark times the runtime's first GET …/next with it). */
  onRequest: ((method: string, url: string) => void) | undefined;

  constructor(readonly functionArn = 'arn:aws:lambda:us-east-1:000000000000:function:demo') {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.writeHead(500).end(String(e));
      });
    });
  }

  /** Listens on 127.0.0.1 (port 0 = any); resolves to `host:port` for AWS_LAMBDA_RUNTIME_API. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    const a = this.server.address() as AddressInfo;
    return `127.0.0.1:${a.port}`;
  }

  /** Queues one invocation; resolves with its outcome. */
  invoke(event: unknown, opts: { requestId?: string; timeoutMs?: number } = {}): Promise<InvokeOutcome> {
    const requestId = opts.requestId ?? randomUUID();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<InvokeOutcome>((resolve, reject) => {
      const p: Pending = {
        requestId,
        event: JSON.stringify(event),
        deadline: 0,
        started: 0,
        resolve,
        reject,
        timer: setTimeout(
          () => this.settleError(p, new Error(`invoke ${requestId} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        ),
      };
      p.deadline = Date.now() + timeoutMs;
      if (this.initError !== undefined) {
        this.settleError(p, new Error(`init error: ${JSON.stringify(this.initError)}`));
        return;
      }
      this.queue.push(p);
      this.dispatch();
    });
  }

  /** The runtime process died: every pending invoke fails with `why`. */
  fail(why: string): void {
    for (const p of [...this.queue, ...this.inFlight.values()]) this.settleError(p, new Error(why));
    this.queue = [];
  }

  async close(): Promise<void> {
    for (const res of this.waiting.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private settleError(p: Pending, e: Error): void {
    clearTimeout(p.timer);
    this.inFlight.delete(p.requestId);
    this.queue = this.queue.filter((q) => q !== p);
    p.reject(e);
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.waiting.length > 0) {
      const p = this.queue.shift() as Pending;
      const res = this.waiting.shift() as ServerResponse;
      p.started = Date.now();
      this.inFlight.set(p.requestId, p);
      res.writeHead(200, {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': p.requestId,
        'lambda-runtime-deadline-ms': String(p.deadline),
        'lambda-runtime-invoked-function-arn': this.functionArn,
        'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${p.requestId.replace(/-/g, '').slice(0, 24)};Parent=0000000000000000;Sampled=0`,
      });
      res.end(p.event);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    this.onRequest?.(req.method ?? '', url);
    this.requests.push(`${req.method} ${url}`);
    const body = await readBody(req);
    if (req.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      if (this.inFlight.size > 0) {
        // like Lambda: the runtime asks for the next event while the one it has is still open
        const open = [...this.inFlight.keys()].join(', ');
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ errorMessage: `invoke ${open} has no result yet`, errorType: 'InvalidStateTransition' }),
        );
        return;
      }
      this.waiting.push(res);
      res.on('close', () => {
        this.waiting = this.waiting.filter((r) => r !== res);
      });
      this.dispatch();
      return;
    }
    if (req.method === 'POST' && url === `${PREFIX}/init/error`) {
      this.initError = parse(body);
      for (const p of [...this.queue]) this.settleError(p, new Error(`init error: ${body}`));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}');
      return;
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === 'POST' && m) {
      const id = decodeURIComponent(m[1] ?? '');
      const p = this.inFlight.get(id);
      if (!p) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: `unknown or settled request id ${id}`, errorType: 'InvalidRequestID' }));
        return;
      }
      clearTimeout(p.timer);
      this.inFlight.delete(id);
      const parsed = parse(body);
      const errorType =
        m[2] === 'error'
          ? ((req.headers['lambda-runtime-function-error-type'] as string | undefined) ??
            ((parsed as { errorType?: string } | undefined)?.errorType || 'Unhandled'))
          : undefined;
      p.resolve({
        requestId: id,
        ok: m[2] === 'response',
        body: parsed,
        errorType,
        durationMs: Date.now() - p.started,
      });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errorType":"NotFound"}');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
