import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as getBalanceFn } from '../../functions/get-balance.js';
import { dynamo } from '../../lib/aws.js';
import { config } from '../../lib/config.js';
import { hashApiKey, ulid } from '../../lib/ids.js';
import { SERVERLESS_YML } from '../../local/resources.js';
import { writeLocalStackFile } from '../../local/stack-file.js';
import { apiEvent, call, createAccount } from '../support/fixtures.js';

/**
 * The operator's CLI (`npx qunfa accounts …`) against the test stack's
 * DynamoDB Local, found the way it finds a running `npm start`.
 */
let dir: string;
let stackFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qunfa-cli-'));
  stackFile = join(dir, 'local.json');
  await writeLocalStackFile({ ddbEndpoint: String(process.env.AWS_ENDPOINT_URL_DYNAMODB), region: String(process.env.AWS_REGION), stage: 'local', pid: process.pid }, stackFile);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function qunfa(args: string[], file = stackFile): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/qunfa.mjs', ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, QUNFA_LOCAL_STACK_FILE: file }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const json = async (args: string[]) => {
  const r = await qunfa([...args, '--json']);
  if (r.code !== 0) throw new Error(`qunfa ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
};
const balance = (apiKey: string) => call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }));

describe('npx qunfa accounts', () => {
  it('create → the key works; topup; rotate-key; revoke-key; list; ledger adds up', async () => {
    const id = `cli-${ulid().slice(-8).toLowerCase()}`;
    const created = await json(['accounts', 'create', id, '--name', 'CLI app', '--balance', '50', '--route', 'submail,zywx', '--daily-messages', '100', '--per-number-interval', '0']);
    expect(created).toMatchObject({ accountId: id, name: 'CLI app', balance: 50, route: ['submail', 'zywx'], limits: { dailyMessages: 100, perNumberIntervalSeconds: 0, perNumberDaily: 10 } });
    expect(created.apiKey).toMatch(/^qf_/);
    expect(await balance(created.apiKey)).toMatchObject({ status: 200, body: { accountId: id, balance: 50, limits: { dailyMessages: 100 } } });

    expect(await json(['accounts', 'topup', id, '25', '--note', 'invoice 42'])).toMatchObject({ balance: 75 });
    expect((await balance(created.apiKey)).body.balance).toBe(75);

    const rotated = await json(['accounts', 'rotate-key', id]);
    expect(rotated.revoked).toEqual([created.keyId]);
    expect((await balance(created.apiKey)).status).toBe(401);
    expect((await balance(rotated.apiKey)).status).toBe(200);

    expect(await json(['accounts', 'revoke-key', id, rotated.keyId])).toMatchObject({ revoked: true });
    expect((await balance(rotated.apiKey)).status).toBe(401);

    const listed = (await json(['accounts', 'list'])) as unknown as { accountId: string; keys: { keyId: string; revokeTime?: string }[] }[];
    const mine = listed.find((a) => a.accountId === id);
    expect(mine?.keys).toHaveLength(2);
    expect(mine?.keys.every((k) => k.revokeTime)).toBe(true);

    const ledger = await json(['accounts', 'ledger', id]);
    expect(ledger).toMatchObject({ balance: 75, sum: 75 });
    expect(ledger.entries.map((e: { kind: string; delta: number }) => [e.kind, e.delta])).toEqual([['topup', 50], ['topup', 25]]);

    const updated = await json(['accounts', 'update', id, '--per-number-daily', '3', '--operator']);
    expect(updated).toMatchObject({ operator: true, limits: { dailyMessages: 100, perNumberDaily: 3, perNumberIntervalSeconds: 0 } });
    const shown = await qunfa(['accounts', 'show', id]);
    expect(shown.stdout).toContain('matches the balance');
  }, 120_000);

  it('refuses what it cannot do with a clear message and a non-zero exit', async () => {
    const id = `cli-${ulid().slice(-8).toLowerCase()}`;
    expect((await qunfa(['accounts', 'create', id])).code).toBe(0);
    const again = await qunfa(['accounts', 'create', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ACCOUNT_EXISTS');
    const badRoute = await qunfa(['accounts', 'create', `${id}x`, '--route', 'twilio']);
    expect(badRoute.code).toBe(1);
    expect(badRoute.stderr).toContain('INVALID_ACCOUNT');
    const badPoints = await qunfa(['accounts', 'topup', id, '-5']);
    expect(badPoints.code).not.toBe(0);
    const missing = await qunfa(['accounts', 'topup', 'no-such-account', '5']);
    expect(missing.stderr).toContain('NOT_FOUND');
    const noStack = await qunfa(['accounts', 'list'], join(dir, 'absent.json'));
    expect(noStack.code).toBe(1);
    expect(noStack.stderr).toContain('npm start');
  }, 120_000);
});

describe('credentials at rest', () => {
  it('API keys are stored only as SHA-256 hashes', async () => {
    const { apiKey, account } = await createAccount();
    const items = (await dynamo().send(new ScanCommand({ TableName: config.accountsTable }))).Items ?? [];
    const text = JSON.stringify(items);
    expect(text).not.toContain(apiKey);
    expect(items.some((it) => it.pk === `apikey#${hashApiKey(apiKey)}` && it.accountId === account.accountId)).toBe(true);
  });

  it('no HTTP route can create accounts, issue keys or add points', () => {
    // Routes are declared in serverless.yml only; list them all from the file.
    const yml = readFileSync(SERVERLESS_YML, 'utf8');
    const routes = [...yml.matchAll(/httpApi:\s*\{\s*method:\s*(\w+),\s*path:\s*'?([^'\s}]+)'?\s*\}/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) expect(r).not.toMatch(/account|topup|key|ledger|points/i);
    expect(routes.filter((r) => r.includes('/v1/balance'))).toEqual(['GET /v1/balance']);
  });
});
