/**
 * Proxy mode as it is deployed: `egress-guard-proxy` started by the real Lambda Runtime Interface Emulator as an
 * external extension from `/opt/extensions` (the proxy-mode layer's launcher, the main layer's binary, both under a
 * private /opt), with a static Go bootstrap (aws-lambda-go) whose handler makes its requests through
 * HTTPS_PROXY/HTTP_PROXY. Checks that the extension registers before the runtime starts (the first request finds
 * the proxy), that its lines carry each invoke's request id, and what it says it covers.
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needRie, Rie } from '../runtimes/support/rie.js';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { PROXY_BIN, PROXY_ENV, ProxyLab } from './support/lab.js';

const ok =
  needNetns() && needLibrary() && needCommand('go', 'version') && needCommand('openssl', 'version') && needRie();

describe.skipIf(!ok)('egress proxy as a Lambda extension under the Runtime Interface Emulator', () => {
  let lab: ProxyLab;
  let rie: Rie;
  let logFile: string;
  let task: string;
  beforeAll(async () => {
    lab = await ProxyLab.create();
    const dir = mkdtempSync(join(scratchDir(), 'rie-'));
    const opt = join(dir, 'opt');
    mkdirSync(join(opt, 'extensions'), { recursive: true });
    mkdirSync(join(opt, 'egress-guard/bin'), { recursive: true });
    copyFileSync(join(ROOT, 'layer/extensions/egress-guard-proxy'), join(opt, 'extensions/egress-guard-proxy'));
    copyFileSync(PROXY_BIN, join(opt, 'egress-guard/bin/egress-guard-proxy'));
    task = join(dir, 'task');
    mkdirSync(task);
    copyFileSync(lab.goClient, join(task, 'bootstrap'));
    logFile = join(dir, 'guard.log');
    rie = await Rie.start(lab.ns, {
      bootstrap: [join(task, 'bootstrap')],
      opt,
      cwd: task,
      env: {
        ...PROXY_ENV,
        LAMBDA_TASK_ROOT: task,
        SSL_CERT_FILE: lab.certFile,
        EGRESS_GUARD_POLICY: lab.policy,
        EGRESS_GUARD_MODE: 'enforce',
        EGRESS_GUARD_LOG: logFile,
        EGRESS_GUARD_STATE: join(dir, 'state'),
      },
    });
  }, 600_000);
  afterAll(() => {
    rie?.stop();
    lab?.destroy();
  });

  it('serves the first invoke through the proxy, which registered before the runtime started', async () => {
    const inv = await rie.invoke({
      steps: ['plain=http://allowed.proxy.test:8080/x-first', 'tls=https://allowed.proxy.test:8443/x-tls'],
    });
    expect(inv.status, rie.output).toBe(200);
    const lines = JSON.parse(inv.body) as string[];
    expect(lines).toEqual([
      expect.stringMatching(/^PROXY\tplain\tok\tHTTP 200\t/),
      expect.stringMatching(/^PROXY\ttls\tok\tHTTP 200\t/),
    ]);
    expect(lab.arrived('x-first')).toHaveLength(1);
    const ready = lab.logsOf(logFile).filter((l) => l.event === 'proxy');
    expect(ready).toEqual([
      expect.objectContaining({
        level: 40,
        bootstrapKind: 'go-static',
        covers: 'proxy',
        bootstrap: join(task, 'bootstrap'),
      }),
    ]);
  }, 120_000);

  it("puts each invoke's request id on its lines", async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      // Lambda hands INVOKE to the extension and to the runtime concurrently: the handler waits a little so the
      // proxy has its event (docs/PROXY.md "Request ids" says what happens in the first milliseconds otherwise)
      const inv = await rie.invoke({ steps: ['wait=sleep+300', `denied=http://denied.proxy.test:8080/x-denied-${n}`] });
      expect(inv.status).toBe(200);
      expect(JSON.parse(inv.body)[1]).toMatch(/^PROXY\tdenied\tok\tHTTP 403\t/);
      expect(inv.requestId).toMatch(/^[0-9a-f-]{36}$/);
      ids.push(inv.requestId);
    }
    expect(ids[0]).not.toBe(ids[1]);
    const denied = lab.logsOf(logFile).filter((l) => l.event === 'connect' && l.blocked === true);
    expect(denied.map((l) => l.requestId)).toEqual(ids);
    expect(lab.arrived('x-denied')).toEqual([]);
  }, 120_000);
});
