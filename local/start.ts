import { spawn } from 'node:child_process';
import { SQSClient } from '@aws-sdk/client-sqs';
import { newApiKey } from '../lib/ids.js';
import { accountStore } from '../lib/stores/accounts.js';
import { ledgerStore } from '../lib/stores/ledger.js';
import { createAccount, updateAccount } from '../lib/accounts.js';
import { removeLocalStackFile, writeLocalStackFile } from './stack-file.js';
import { offlineInvoke, startPoller } from './poller.js';
import { SIMULATORS } from './simulators/index.js';
import { templateStore } from '../lib/stores/templates.js';
import { PROVIDER_NAMES } from '../lib/providers/index.js';
import { freePort, startLocalStack } from './stack.js';

/**
 * `npm start`: the whole gateway on loopback. DynamoDB Local and fauxqs with
 * serverless.yml's tables and queues, the SUBMAIL simulator, serverless-offline
 * serving the HTTP API (and running the scheduler's schedule), a queue poller
 * feeding the SQS functions through serverless-offline, and a seeded account.
 * Ctrl-C stops every process it started.
 */
const stage = 'local';
const port = Number(process.env.QUNFA_PORT ?? 3000);
const accountId = process.env.QUNFA_ACCOUNT_ID ?? 'demo';
const apiKey = process.env.QUNFA_API_KEY ?? newApiKey();
const t0 = Date.now();

const stack = await startLocalStack({ stage });
const cleanups: (() => Promise<unknown> | void)[] = [() => stack.stop()];
let stopping = false;
const shutdown = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  console.log('\nqunfa: stopping…');
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  process.exit(code);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

try {
  const base = `http://127.0.0.1:${port}`;
  const sims: Record<string, { url: string }> = {};
  const providersConfig: Record<string, unknown> = {};
  for (const name of PROVIDER_NAMES) {
    // Each simulator delivers what it accepts and pushes receipts to qunfa's webhook about a second later.
    const { sim, config, hookPath } = await SIMULATORS[name]({ push: { delayMs: 800 } });
    sim.setPush({ url: `${base}${hookPath}` });
    cleanups.push(() => sim.stop());
    sims[name] = sim;
    providersConfig[name] = config;
  }

  const admin = { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() };
  await createAccount(
    {
      accountId,
      name: `${accountId} (local)`,
      balance: 100_000_000,
      route: ['submail', 'zywx', 'sendcloud'],
      // The local account may see the simulators' balances through GET /v1/balance.
      operator: true,
      ...(process.env.QUNFA_CALLBACK_URL ? { callbackUrl: process.env.QUNFA_CALLBACK_URL } : {}),
    },
    admin,
    apiKey,
  );
  const callbackSecret = process.env.QUNFA_CALLBACK_SECRET;
  if (callbackSecret) await updateAccount(accountId, { callbackSecret }, admin);
  const seeded = await admin.accounts.get(accountId);
  const shownSecret = seeded?.callbackSecret;
  // `npx qunfa accounts … --stage local` finds this stack through this file.
  await writeLocalStackFile({ ddbEndpoint: stack.ddbEndpoint, region: stack.def.region, stage, pid: process.pid });
  cleanups.push(() => removeLocalStackFile());

  // A template every local simulator knows: SUBMAIL project ThJBE4, SendCloud template 10001.
  await templateStore()
    .create({
      accountId,
      templateId: 'verify',
      name: 'verification code',
      text: '【示例】您的验证码是%code%，10分钟内有效',
      variables: ['code'],
      vendorTemplateIds: { submail: 'ThJBE4', sendcloud: '10001' },
      createTime: new Date().toISOString(),
    })
    .catch(() => undefined);

  const lambdaPort = Number(process.env.QUNFA_LAMBDA_PORT ?? (await freePort()));
  const offline = spawn('npx', ['serverless', 'offline', 'start', '--stage', stage, '--localEnvironment'], {
    detached: true, // own process group, so Ctrl-C here stops npx, osls and every worker
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...stack.env,
      SLS_TELEMETRY_DISABLED: '1',
      QUNFA_PORT: String(port),
      QUNFA_LAMBDA_PORT: String(lambdaPort),
      QUNFA_PROVIDERS_JSON: JSON.stringify(providersConfig),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    },
  });
  cleanups.push(() => {
    try {
      if (offline.pid) process.kill(-offline.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  });
  const offlineLog: string[] = [];
  const keep = (b: Buffer) => {
    const s = b.toString();
    offlineLog.push(s);
    if (offlineLog.length > 200) offlineLog.shift();
    if (process.env.QUNFA_VERBOSE) process.stderr.write(s);
  };
  offline.stdout?.on('data', keep);
  offline.stderr?.on('data', keep);
  offline.on('exit', (code) => {
    if (!stopping) {
      console.error(`serverless offline exited (${code}):\n${offlineLog.join('').slice(-4000)}`);
      void shutdown(1);
    }
  });

  const deadline = Date.now() + 90_000;
  for (;;) {
    const r = await fetch(`${base}/v1/tasks/ping`).catch(() => undefined);
    if (r && r.status === 401) break;
    if (Date.now() > deadline) throw new Error(`HTTP API did not come up:\n${offlineLog.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const poller = startPoller({
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    def: stack.def,
    queueUrls: stack.queueUrls,
    invoke: offlineInvoke(lambdaPort, stack.def.service, stage),
    // A failed record reappears after 30 s locally rather than the deployed 6 minutes.
    visibilityTimeout: 30,
    onError: (fn, e) => console.error(`[poller] ${fn}: ${(e as Error).message}`),
  });
  cleanups.splice(1, 0, () => poller.stop());

  const example = JSON.stringify({ to: ['13800138000', '+86 139-0013-9000'], content: '【示例】您的订单已发货' });
  console.log(`
qunfa is running locally (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)

  API base URL        ${base}
  account             ${accountId}
  API key             ${apiKey}
  callbacks           ${process.env.QUNFA_CALLBACK_URL ?? '(none: set QUNFA_CALLBACK_URL, or callbackUrl on a task)'}, signed with ${shownSecret}
  vendor-compatible   appid/smsUser/appId ${accountId}, key ${seeded?.compatKey ?? ''} (SUBMAIL /sms/batchsend, SendCloud /smsapi/…, 10658 /smsApi/group)
  accounts            npx qunfa accounts list   (create, topup, rotate-key, …: see the README)
${Object.entries(sims).map(([n, sim]) => `  ${`${n} simulator`.padEnd(20)}${sim.url}   (stats: ${sim.url}/__sim/stats)`).join('\n')}
  DynamoDB Local      ${stack.ddbEndpoint}
  SQS (fauxqs)        ${stack.sqsEndpoint}

Send a task:
  curl -s -X POST ${base}/v1/tasks -H "Authorization: Bearer ${apiKey}" -d '${example}'

Or with the local template "verify" (any route provider, SendCloud included):
  curl -s -X POST ${base}/v1/tasks -H "Authorization: Bearer ${apiKey}" -d '{"to":["13800138000"],"templateId":"verify","vars":{"code":"4438"},"route":["sendcloud"]}'

Then follow it (use the taskId from the answer); receipts arrive about a second after sending:
  curl -s ${base}/v1/tasks/TASK_ID -H "Authorization: Bearer ${apiKey}"
  curl -s ${base}/v1/tasks/TASK_ID/messages -H "Authorization: Bearer ${apiKey}"

Ctrl-C stops everything.`);
} catch (e) {
  console.error(`qunfa: could not start: ${(e as Error).message}`);
  await shutdown(1);
}
