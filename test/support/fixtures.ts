import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { dynamo } from '../../lib/aws.js';
import { config } from '../../lib/config.js';
import { ulid } from '../../lib/ids.js';
import type { Account } from '../../lib/model.js';
import { accountStore } from '../../lib/stores/accounts.js';
import { createAccount as createAccountAsOperator, type AccountInput, type AdminDeps } from '../../lib/accounts.js';
import { ledgerStore } from '../../lib/stores/ledger.js';
import { contactStore } from '../../lib/stores/contacts.js';
import { limitStore } from '../../lib/stores/limits.js';
import { receiptStore } from '../../lib/stores/receipts.js';
import { suppressionStore } from '../../lib/stores/replies.js';
import { templateStore } from '../../lib/stores/templates.js';
import type { SubmitDeps } from '../../lib/tasks/submit.js';
import { startSubmailSimulator } from '../../local/simulators/submail.js';
import { startSimulators } from '../../local/simulators/index.js';
import { dedupeWindowMs, getProvider, PROVIDER_NAMES, type ProviderName } from '../../lib/providers/index.js';
import { messageStore } from '../../lib/stores/messages.js';
import { taskStore } from '../../lib/stores/tasks.js';
import type { CrashPoint, DispatchDeps } from '../../lib/tasks/dispatch.js';
import type { Simulator } from '../../local/simulators/harness.js';

export const SUBMAIL_APPID = 'test-app';
export const SUBMAIL_APPKEY = 'test-appkey-0123456789abcdef0123';

/** Limits off unless a test asks: most tests send to the same numbers again and again. */
export const NO_LIMITS = { perNumberIntervalSeconds: 0, perNumberDaily: 0, dailyMessages: 0 };

export const adminDeps = (): AdminDeps => ({ accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() });

/** An account made the way the operator's CLI makes one (hashed key, opening balance in the ledger). */
export async function createAccount(extra: Partial<AccountInput> = {}): Promise<{ account: Account; apiKey: string; keyId: string }> {
  const created = await createAccountAsOperator(
    { accountId: `acct-${ulid().slice(-10).toLowerCase()}`, name: 'test', balance: 1_000_000, route: ['submail'], limits: NO_LIMITS, ...extra },
    adminDeps(),
  );
  return { account: created.account, apiKey: created.apiKey, keyId: created.keyId };
}

/** What send-batch uses, with fan-out left to the test. */
export function testSubmitDeps(enqueueFanOut: (taskId: string) => Promise<void> = async () => {}): SubmitDeps {
  return { tasks: taskStore(), templates: templateStore(), suppressions: suppressionStore(), contacts: contactStore(), ledger: ledgerStore(), limits: limitStore(), enqueueFanOut };
}

/** POST /v1/tasks through the send-batch handler, as a client would. */
export async function postTask(apiKey: string, body: Record<string, unknown>) {
  const { handler } = await import('../../functions/send-batch.js');
  return call(handler, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: JSON.stringify(body) }));
}

/** GET /v1/balance: the account's view of its points, limits and today's usage. */
export async function balanceOf(apiKey: string): Promise<Record<string, any>> {
  const { handler } = await import('../../functions/get-balance.js');
  return (await call(handler, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }))).body;
}

/** A SUBMAIL simulator that the functions in this process are configured to call. */
export async function startSubmail(signType: 'md5' | 'sha1' | 'normal' = 'md5'): Promise<Simulator> {
  const sim = await startSubmailSimulator({ appid: SUBMAIL_APPID, appkey: SUBMAIL_APPKEY });
  process.env.QUNFA_PROVIDERS_JSON = JSON.stringify({
    submail: { baseUrl: sim.url, appid: SUBMAIL_APPID, appkey: SUBMAIL_APPKEY, signType },
  });
  return sim;
}

export function apiEvent(opts: {
  method: string;
  path: string;
  body?: string;
  apiKey?: string;
  pathParameters?: Record<string, string>;
  contentType?: string;
}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  if (opts.apiKey) headers.Authorization = `Bearer ${opts.apiKey}`;
  if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  return {
    version: '2.0',
    routeKey: `${opts.method} ${opts.path}`,
    rawPath: opts.path,
    rawQueryString: '',
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.pathParameters ? { pathParameters: opts.pathParameters } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: opts.method, path: opts.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: ulid(),
      routeKey: `${opts.method} ${opts.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

type Handler = (event: APIGatewayProxyEventV2, context: never) => Promise<unknown>;

export async function call(handler: unknown, event: APIGatewayProxyEventV2): Promise<{ status: number; body: Record<string, any> }> {
  const context = { functionName: 'test', awsRequestId: ulid(), getRemainingTimeInMillis: () => 30_000 } as never;
  const res = (await (handler as Handler)(event, context)) as APIGatewayProxyStructuredResultV2;
  let body: Record<string, any> = {};
  if (res.body) {
    try {
      body = JSON.parse(res.body);
    } catch {
      body = { text: res.body };
    }
  }
  return { status: res.statusCode ?? 0, body };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every tasks-table item (task or chunk) that belongs to an account's tasks. */
export async function taskItemsOf(accountId: string): Promise<number> {
  const r = await dynamo().send(
    new ScanCommand({ TableName: config.tasksTable, FilterExpression: 'accountId = :a', ExpressionAttributeValues: { ':a': accountId } }),
  );
  return r.Items?.length ?? 0;
}

export const phones = (n: number, start = 13_000_000_000): string[] =>
  Array.from({ length: n }, (_, i) => String(start + i));

/** Every provider's simulator, configured for this process, pushing to `hookBase` when given. */
export async function startAllSimulators(hookBase?: string): Promise<Record<ProviderName, Simulator>> {
  const { sims, config, hookPaths } = await startSimulators({ push: { delayMs: 20 } });
  if (hookBase) for (const name of PROVIDER_NAMES) sims[name].setPush({ url: `${hookBase}${hookPaths[name]}` });
  process.env.QUNFA_PROVIDERS_JSON = JSON.stringify(config);
  return sims;
}

/** Dispatch dependencies on the real stores, with a test clock and an optional injected crash. */
export function testDispatchDeps(now: () => number, crash?: CrashPoint): DispatchDeps {
  return {
    tasks: taskStore(),
    messages: messageStore(),
    provider: getProvider,
    dedupeWindowMs,
    leaseMs: 5_000,
    receipts: receiptStore(),
    ledger: ledgerStore(),
    limits: limitStore(),
    suppressions: suppressionStore(),
    now,
    ...(crash
      ? {
          crash: (p: CrashPoint) => {
            if (p === crash) throw new Error(`injected crash ${p}`);
          },
        }
      : {}),
  };
}
