/**
 * `npm run bench:chaos`: the pipeline under faults, on the local stack with
 * the simulators. One task per fault, run through the real queues by the
 * poller, then drained; for each it prints recipients sent, sent twice, lost
 * (neither final nor unknown), ended unknown, and the time to drain. Exits 1
 * when anything is sent twice or lost.
 */
import './env.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { newApiKey } from '../lib/ids.js';
import { PROVIDER_NAMES, type ProviderName } from '../lib/providers/index.js';
import { accountStore } from '../lib/stores/accounts.js';
import { ledgerStore } from '../lib/stores/ledger.js';
import { createAccount } from '../lib/accounts.js';
import { taskStore } from '../lib/stores/tasks.js';
import { inProcessInvoke, startPoller, type Invoke } from '../local/poller.js';
import { startSimulators } from '../local/simulators/index.js';
import { startLocalStack } from '../local/stack.js';
import { apiEvent, call } from '../test/support/fixtures.js';

// Short leases and timeouts so recovery happens within the run, as it would within minutes on AWS.
process.env.QUNFA_CHUNK_LEASE_MS = '4000';
process.env.QUNFA_PROVIDER_TIMEOUT_MS = '1500';
process.env.QUNFA_RETRY_BASE_SECONDS = '1';
const SIZE = Number(process.env.QUNFA_CHAOS_RECIPIENTS ?? 6_000);

const stack = await startLocalStack({ stage: 'local' });
const { sims, config, hookPaths } = await startSimulators();
process.env.QUNFA_PROVIDERS_JSON = JSON.stringify(config);
const { handler: sendBatch } = await import('../functions/send-batch.js');
const { handler: webhook } = await import('../functions/receipt-webhook.js');
const { startHookServer } = await import('../test/support/hook-server.js');
const hooks = await startHookServer(webhook);
const apiKey = newApiKey();
await createAccount(
  { accountId: 'chaos', balance: 1e12, route: ['zywx', 'submail'], limits: { perNumberIntervalSeconds: 0, perNumberDaily: 0, dailyMessages: 0 } },
  { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() },
  apiKey,
);
const tasks = taskStore();
let nextNumber = 13_500_000_000;

interface Scenario {
  name: string;
  setup(): void;
  /** Wraps the function runner: how a Lambda can fail. */
  invoke?(base: Invoke): Invoke;
  visibilityTimeout?: number;
}

/** The first dispatch invocation dies after its provider answered, before anything is recorded: a Lambda killed mid-chunk. */
function killFirstDispatch(base: Invoke): Invoke {
  let killed = false;
  return async (fn, handler, event) => {
    if (fn === 'dispatch' && !killed) {
      killed = true;
      const { dispatchChunk } = await import('../lib/tasks/dispatch.js');
      const { wiring } = await import('../lib/wiring.js');
      const ref = JSON.parse((event as SQSEvent).Records[0]?.body ?? '{}') as { taskId: string; chunkNo: number };
      await dispatchChunk(ref, { ...wiring.dispatch(), crash: (p) => { if (p === 'after-send') throw new Error('killed'); } }).catch(() => undefined);
      throw new Error('dispatch killed mid-chunk');
    }
    return base(fn, handler, event);
  };
}

const scenarios: Scenario[] = [
  { name: 'none (baseline)', setup: () => {} },
  { name: 'provider error on every 10658 request (failover to SUBMAIL)', setup: () => sims.zywx.setFault({ mode: 'error', code: '余额不足', count: -1 }) },
  { name: 'provider timeout on one request (that chunk ends unknown)', setup: () => sims.zywx.setFault({ mode: 'timeout', count: 1 }) },
  { name: 'receipts duplicated 50% and reordered', setup: () => sims.zywx.setPush({ duplicate: 0.5, reorder: true }) },
  { name: 'SQS redelivery (1 s visibility, 1.2 s provider answers)', setup: () => sims.zywx.setFault({ mode: 'delay', ms: 1_200, count: 3 }), visibilityTimeout: 1 },
  { name: 'dispatch killed mid-chunk (after the send)', setup: () => {}, invoke: killFirstDispatch, visibilityTimeout: 2 },
];

const rows: { name: string; sent: number; twice: number; lost: number; unknown: number; drainS: number }[] = [];
for (const s of scenarios) {
  for (const sim of Object.values(sims)) {
    sim.reset();
    sim.setBalance(1e9);
  }
  for (const name of PROVIDER_NAMES) sims[name].setPush({ url: `${hooks.base}${hookPaths[name]}`, delayMs: 0, duplicate: 0, reorder: false });
  s.setup();
  const base = inProcessInvoke();
  const poller = startPoller({
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    def: stack.def,
    queueUrls: stack.queueUrls,
    invoke: s.invoke ? s.invoke(base) : base,
    waitSeconds: 1,
    concurrency: 4,
    visibilityTimeout: s.visibilityTimeout ?? 5,
  });
  const to = Array.from({ length: SIZE }, () => String(nextNumber++));
  const t0 = performance.now();
  const r = await call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: JSON.stringify({ to, content: '【示例】混沌测试' }) }));
  const taskId = r.body.taskId as string;
  let settledAt = performance.now();
  let last = -1;
  for (;;) {
    const t = await tasks.get(taskId);
    const c = t?.counts;
    const done = c ? c.delivered + c.undelivered + c.rejected + c.unknown : 0;
    if (done !== last) [last, settledAt] = [done, performance.now()];
    // Drained: every recipient final or unknown, and nothing moved for 3 s (late receipts may still turn unknown into delivered).
    if (t && (t.status === 'succeeded' || t.status === 'failed') && done === SIZE && performance.now() - settledAt > 3_000) break;
    if (performance.now() - settledAt > 60_000) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const drainS = (settledAt - t0) / 1000;
  await poller.stop();
  for (const sim of Object.values(sims)) await sim.drainPushes();
  const t = await tasks.get(taskId);
  const c = t?.counts ?? { delivered: 0, undelivered: 0, rejected: 0, unknown: 0, submitted: 0 };
  const sent = Object.values(sims).reduce((n, sim) => n + sim.stats().recipients, 0);
  const twice = Object.values(sims).reduce((n, sim) => n + sim.stats().duplicateRecipients, 0);
  const lost = SIZE - (c.delivered + c.undelivered + c.rejected + c.unknown + c.submitted);
  rows.push({ name: s.name, sent, twice, lost, unknown: c.unknown, drainS });
  console.log(`${s.name}: sent ${sent}, twice ${twice}, lost ${lost}, unknown ${c.unknown}, drained in ${drainS.toFixed(1)} s`);
}

console.log(`\nchaos run: ${SIZE.toLocaleString('en')} recipients per fault, route 10658 → SUBMAIL`);
console.log('  fault                                                        sent   twice   lost   unknown   drain');
for (const r of rows) console.log(`  ${r.name.padEnd(60)} ${String(r.sent).padStart(5)}   ${String(r.twice).padStart(5)}   ${String(r.lost).padStart(4)}   ${String(r.unknown).padStart(7)}   ${r.drainS.toFixed(1).padStart(5)} s`);
const bad = rows.filter((r) => r.twice > 0 || r.lost > 0);
for (const sim of Object.values(sims)) await sim.stop();
await hooks.stop();
await stack.stop();
if (bad.length > 0) {
  console.error(`\nFAILED: ${bad.map((r) => r.name).join('; ')}`);
  process.exit(1);
}
console.log('\nno recipient sent twice, none lost');
process.exit(0);
