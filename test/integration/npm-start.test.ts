import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/stack.js';
import { waitFor } from '../support/fixtures.js';

/**
 * The user's first five minutes, for real: `npm start` brings up the whole
 * gateway (its own DynamoDB Local, fauxqs, simulator and serverless-offline),
 * the curl from the README sends a task through HTTP, the task reaches
 * `succeeded`, and Ctrl-C stops every process it started.
 */
let child: ChildProcess | undefined;
const output: string[] = [];

afterAll(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

const stackFile = join(tmpdir(), `qunfa-npm-start-${process.pid}.json`);
const phonesFrom = (n: number) => Array.from({ length: n }, (_, i) => String(13_800_138_100 + i));

describe('npm start', () => {
  it('serves the README flow end to end and stops cleanly on Ctrl-C', async () => {
    const port = await freePort();
    const apiKey = 'qf_e2e_test_key_0123456789';
    child = spawn('npm', ['start'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, QUNFA_PORT: String(port), QUNFA_API_KEY: apiKey, QUNFA_ACCOUNT_ID: 'e2e', QUNFA_PROVIDERS_JSON: '', QUNFA_LOCAL_STACK_FILE: stackFile },
    });
    child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    await waitFor(async () => output.join('').includes('Ctrl-C stops everything'), 90_000, `npm start banner:\n${output.join('')}`);
    const banner = output.join('');
    const base = `http://127.0.0.1:${port}`;
    expect(banner).toContain(`API base URL        ${base}`);
    expect(banner).toContain(`API key             ${apiKey}`);
    expect(banner).toContain('curl -s -X POST');
    const ddbPort = Number(/DynamoDB Local\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);

    // Exactly what `curl -d` sends: a form content type with a JSON body.
    const res = await fetch(`${base}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ to: ['13800138000', '+86 139-0013-9000'], content: '【示例】您的订单已发货' }),
    });
    expect(res.status).toBe(202);
    const task = (await res.json()) as { taskId: string; memberCount: number };
    expect(task.memberCount).toBe(2);

    const done = await waitFor(async () => {
      const r = await fetch(`${base}/v1/tasks/${task.taskId}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = (await r.json()) as { status: string; counts: Record<string, number> };
      return body.status === 'succeeded' && body;
    }, 30_000, 'task to succeed over HTTP');
    expect(done.counts).toMatchObject({ queued: 0, submitted: 2 });

    const wrong = await fetch(`${base}/v1/tasks/${task.taskId}`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);

    // The operator's CLI finds this stack; the account it creates can send at once.
    const cli = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['bin/qunfa.mjs', 'accounts', 'create', 'cli-app', '--balance', '5', '--json'], { env: { ...process.env, QUNFA_LOCAL_STACK_FILE: stackFile } }, (err, out, errOut) =>
        err ? reject(new Error(errOut)) : resolve(out),
      ),
    );
    const created = JSON.parse(cli) as { apiKey: string };
    const viaCli = await fetch(`${base}/v1/balance`, { headers: { authorization: `Bearer ${created.apiKey}` } });
    expect(await viaCli.json()).toMatchObject({ accountId: 'cli-app', balance: 5 });
    const tooDear = await fetch(`${base}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.apiKey}` },
      body: JSON.stringify({ to: phonesFrom(6), content: '【示例】余额' }),
    });
    expect(tooDear.status).toBe(402);

    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    process.kill(-(child.pid ?? 0), 'SIGINT');
    await exited;
    await waitFor(async () => !(await portOpen(port)) && !(await portOpen(ddbPort)), 15_000, 'ports to close');
    expect(existsSync(stackFile)).toBe(false);
  }, 150_000);
});
