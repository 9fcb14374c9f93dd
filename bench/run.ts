/**
 * `npm run bench [-- --recipients 10000,100000 --vendors submail,sendcloud,zywx]`
 *
 * Measures qunfa on the local stack (DynamoDB Local, fauxqs, the three vendor
 * simulators pushing receipts over HTTP), in one process, and prints a table;
 * the same figures go to bench/results/<time>.json.
 *  - accept latency of POST /v1/tasks (handler time and wall time, median and p95);
 *  - per vendor and size: submit → dispatched → every receipt processed, beside
 *    the floor measured in the same run (the same provider requests and the
 *    same per-recipient writes, done directly): the ratio is the headline;
 *  - AWS work per recipient, counted: DynamoDB WCU/RCU as DynamoDB reports
 *    them, SQS requests by type, Lambda invocations and summed duration by
 *    function, API Gateway requests (the task and every receipt webhook),
 *    provider requests; then dollars per 1,000,000 recipients at the list
 *    prices in bench/prices.json;
 *  - peak RSS growth during each function's invocations;
 *  - correctness: every recipient received exactly once by the simulator and
 *    every message final; the bench exits 1 otherwise.
 * Default plan (under 10 minutes on 2 cores): every vendor at 10,000, SUBMAIL
 * also at 100,000. `--recipients` applies the sizes to every vendor given.
 */
import './env.js';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { dynamo, sqsClient } from '../lib/aws.js';
import { newApiKey } from '../lib/ids.js';
import { chunkSizeFor, getProvider, PROVIDER_NAMES, type ProviderName } from '../lib/providers/index.js';
import { accountStore } from '../lib/stores/accounts.js';
import { ledgerStore } from '../lib/stores/ledger.js';
import { createAccount } from '../lib/accounts.js';
import { runPool } from '../lib/stores/batch.js';
import { messageStore } from '../lib/stores/messages.js';
import { receiptStore } from '../lib/stores/receipts.js';
import { taskStore } from '../lib/stores/tasks.js';
import { templateStore } from '../lib/stores/templates.js';
import { inProcessInvoke, startPoller, type Invoke } from '../local/poller.js';
import { startSimulators } from '../local/simulators/index.js';
import { startLocalStack } from '../local/stack.js';
import { apiEvent, call } from '../test/support/fixtures.js';
import { measured } from './measure.js';

const { values: args } = parseArgs({
  options: {
    recipients: { type: 'string' },
    vendors: { type: 'string' },
    accept: { type: 'string', default: '10000,100000' },
    out: { type: 'string' },
  },
});
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const vendors = (args.vendors ? list(args.vendors) : PROVIDER_NAMES) as ProviderName[];
for (const v of vendors) if (!PROVIDER_NAMES.includes(v)) throw new Error(`unknown vendor ${v}`);
const plan: { vendor: ProviderName; size: number }[] = args.recipients
  ? vendors.flatMap((vendor) => list(args.recipients ?? '').map((s) => ({ vendor, size: Number(s) })))
  : [...vendors.map((vendor) => ({ vendor, size: 10_000 })), ...(vendors.includes('submail') ? [{ vendor: 'submail' as const, size: 100_000 }] : [])];

const stack = await startLocalStack({ stage: 'local' });
const prices = JSON.parse(readFileSync(new URL('./prices.json', import.meta.url), 'utf8')) as {
  date: string;
  region: string;
  dynamodb: { perMillionWriteRequestUnits: number; perMillionReadRequestUnits: number };
  sqs: { perMillionRequests: number };
  lambda: { perGbSecondArm64: number; perMillionRequests: number };
  apiGateway: { perMillionHttpApiRequests: number };
};

// ---- counters: what AWS would bill, counted at the SDK and at the invocations ----
const counts = { wcu: 0, rcu: 0, sqs: {} as Record<string, number>, invocations: {} as Record<string, number>, durationMs: {} as Record<string, number>, api: 0 };
const peakRssMb: Record<string, number> = {};
const reset = () => {
  counts.wcu = 0;
  counts.rcu = 0;
  counts.sqs = {};
  counts.invocations = {};
  counts.durationMs = {};
  counts.api = 0;
};
const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)(Item)?(Items)?Command$/;
const READS = /^(Get|BatchGet|Query|Scan|TransactGet)(Item)?(Items)?Command$/;
dynamo().middlewareStack.add(
  (next, context) => async (args) => {
    const name = context.commandName ?? '';
    const write = WRITES.test(name);
    if (!write && !READS.test(name)) return next(args);
    (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
    const out = await next(args);
    const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity as { CapacityUnits?: number; WriteCapacityUnits?: number; ReadCapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
    for (const c of Array.isArray(cc) ? cc : cc ? [cc] : []) {
      const units = (c as { WriteCapacityUnits?: number; ReadCapacityUnits?: number; CapacityUnits?: number });
      if (write) counts.wcu += units.WriteCapacityUnits ?? units.CapacityUnits ?? 0;
      else counts.rcu += units.ReadCapacityUnits ?? units.CapacityUnits ?? 0;
    }
    return out;
  },
  { step: 'initialize', name: 'benchCapacity' },
);
const countSqs = (client: SQSClient) =>
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const messages = (out.output as { Messages?: unknown[] }).Messages;
      // An empty long poll is the event source's idle cost, not the task's.
      if (name !== 'ReceiveMessage' || (messages?.length ?? 0) > 0) counts.sqs[name] = (counts.sqs[name] ?? 0) + 1;
      return out;
    },
    { step: 'initialize', name: 'benchSqs' },
  );
countSqs(sqsClient());
const pollerSqs = new SQSClient({ useQueueUrlAsEndpoint: false });
countSqs(pollerSqs);

/** Times each invocation and samples RSS while it runs: Lambda's bill and memory, as near as one process gets. */
async function metered(name: string, fn: () => Promise<unknown>): Promise<unknown> {
  counts.invocations[name] = (counts.invocations[name] ?? 0) + 1;
  const t = performance.now();
  try {
    const m = await measured(fn);
    peakRssMb[name] = Math.max(peakRssMb[name] ?? 0, m.peakMb);
    return m.value;
  } finally {
    counts.durationMs[name] = (counts.durationMs[name] ?? 0) + (performance.now() - t);
  }
}
const inProcess = inProcessInvoke();
const invoke: Invoke = (functionName, handler, event) => metered(functionName, () => inProcess(functionName, handler, event)) as ReturnType<Invoke>;

// ---- the simulators, the webhook front, the account ----
const { sims, config: providerConfig, hookPaths } = await startSimulators();
process.env.QUNFA_PROVIDERS_JSON = JSON.stringify(providerConfig);
const { handler: sendBatch } = await import('../functions/send-batch.js');
const { handler: webhook } = await import('../functions/receipt-webhook.js');
const { startHookServer } = await import('../test/support/hook-server.js');
const hooks = await startHookServer((event: unknown, context: unknown) => {
  counts.api++;
  return metered('receiptWebhook', () => (webhook as unknown as (e: unknown, c: unknown) => Promise<unknown>)(event, context));
});
const apiKey = newApiKey();
// Per-number limits off: DESIGN.md states the budgets that way (their cost is the last section).
await createAccount(
  { accountId: 'bench', name: 'bench', balance: 1e12, route: ['submail', 'sendcloud', 'zywx'], limits: { perNumberIntervalSeconds: 0, perNumberDaily: 0, dailyMessages: 0 } },
  { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() },
  apiKey,
);
await templateStore().create({ accountId: 'bench', templateId: 'verify', name: 'v', text: '【示例】您的验证码是%code%，10分钟内有效', variables: ['code'], vendorTemplateIds: { submail: 'ThJBE4', sendcloud: '10001' }, createTime: new Date().toISOString() });
let nextNumber = 13_000_000_000;
const numbers = (n: number) => Array.from({ length: n }, () => String(nextNumber++));
const body = (vendor: ProviderName, to: string[]) =>
  JSON.stringify(vendor === 'sendcloud' ? { to, templateId: 'verify', vars: { code: '4438' }, route: [vendor] } : { to, content: '【示例】您的订单已发货，请注意查收', route: [vendor] });
const submit = async (vendor: ProviderName, to: string[]) => {
  counts.api++;
  const t = performance.now();
  const r = await metered('sendBatch', () => call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: body(vendor, to) }))) as Awaited<ReturnType<typeof call>>;
  if (r.status !== 202) throw new Error(`submit failed: ${JSON.stringify(r.body)}`);
  return { taskId: r.body.taskId as string, wallMs: performance.now() - t };
};

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const failures: string[] = [];
const results: Record<string, unknown> = { machine: `${process.platform} ${process.arch}, Node ${process.version}`, time: new Date().toISOString(), prices: { date: prices.date, region: prices.region } };

// ---- 1. accept latency (nothing consumes the queues) ----
const accept: { size: number; handlerMedianMs: number; handlerP95Ms: number; wallMedianMs: number; wallP95Ms: number }[] = [];
{
  // Wall time: the client's, over real HTTP on loopback, through a front that times the handler alone.
  const { createServer } = await import('node:http');
  let lastHandlerMs = 0;
  const front = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', async () => {
      const t = performance.now();
      const r = await call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: Buffer.concat(parts).toString('utf8') }));
      lastHandlerMs = performance.now() - t;
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const port = (front.address() as { port: number }).port;
  for (const size of list(args.accept ?? '').map(Number)) {
    const handlerMs: number[] = [];
    const wallMs: number[] = [];
    for (let run = 0; run < 7; run++) {
      const payload = body('submail', numbers(size));
      const t = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: payload });
      await r.arrayBuffer();
      wallMs.push(performance.now() - t);
      if (r.status !== 202) throw new Error(`accept failed: HTTP ${r.status}`);
      handlerMs.push(lastHandlerMs);
    }
    accept.push({ size, handlerMedianMs: pct(handlerMs, 0.5), handlerP95Ms: pct(handlerMs, 0.95), wallMedianMs: pct(wallMs, 0.5), wallP95Ms: pct(wallMs, 0.95) });
  }
  front.closeAllConnections();
  await new Promise((r) => front.close(r));
  const { purgeAll } = await import('../test/support/queues.js');
  await purgeAll(stack.queueUrls);
}
results.accept = accept;

// ---- 2. end to end, per vendor and size, beside the floor ----
const tasks = taskStore();
const runs: Record<string, unknown>[] = [];
for (const { vendor, size } of plan) {
  const sim = sims[vendor];
  sim.reset();
  sim.setBalance(1e9);
  sim.setPush({ url: `${hooks.base}${hookPaths[vendor]}`, delayMs: 0 });
  reset();
  const poller = startPoller({ sqs: pollerSqs, def: stack.def, queueUrls: stack.queueUrls, invoke, waitSeconds: 1, concurrency: 4 });
  const t0 = performance.now();
  const { taskId } = await submit(vendor, numbers(size));
  let dispatchedMs = 0;
  let lastProgress = performance.now();
  let lastSettled = -1;
  for (;;) {
    const t = await tasks.get(taskId);
    if (!dispatchedMs && t && (t.status === 'succeeded' || t.status === 'failed')) dispatchedMs = performance.now() - t0;
    const settled = t ? t.counts.delivered + t.counts.undelivered + t.counts.rejected : 0;
    if (dispatchedMs && settled === size) break;
    if (settled !== lastSettled) [lastSettled, lastProgress] = [settled, performance.now()];
    if (performance.now() - lastProgress > 30_000) {
      failures.push(`${vendor} ${size}: stalled at ${settled} final messages`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const e2eMs = performance.now() - t0;
  await sim.drainPushes();
  await poller.stop();
  const task = await tasks.get(taskId);
  const stats = sim.stats();
  const work = { wcu: counts.wcu, rcu: counts.rcu, sqs: { ...counts.sqs }, invocations: { ...counts.invocations }, durationMs: { ...counts.durationMs }, api: counts.api, providerRequests: stats.requests };

  // Correctness under load: each recipient reached the vendor once, and every message is final.
  if (stats.duplicateRecipients > 0) failures.push(`${vendor} ${size}: ${stats.duplicateRecipients} recipients received twice`);
  if (stats.recipients !== size) failures.push(`${vendor} ${size}: the vendor received ${stats.recipients} of ${size}`);
  const final = (task?.counts.delivered ?? 0) + (task?.counts.undelivered ?? 0) + (task?.counts.rejected ?? 0);
  if (final !== size || task?.counts.unknown) failures.push(`${vendor} ${size}: ${final} of ${size} messages final, ${task?.counts.unknown ?? 0} unknown`);

  // The floor: the same provider requests and per-recipient writes, straight.
  sim.setPush({ url: '' });
  const floorMs = await floor(vendor, size);
  const sqsTotal = Object.values(work.sqs).reduce((a, b) => a + b, 0);
  const gbSeconds = Object.entries(work.durationMs).reduce((n, [fn, ms]) => n + (ms / 1000) * ((stack.def.memoryMb[fn] ?? 1024) / 1024), 0);
  const invocations = Object.values(work.invocations).reduce((a, b) => a + b, 0);
  const perMillion = (x: number) => (x / size) * 1e6;
  const dollars = {
    dynamodb: (perMillion(work.wcu) / 1e6) * prices.dynamodb.perMillionWriteRequestUnits + (perMillion(work.rcu) / 1e6) * prices.dynamodb.perMillionReadRequestUnits,
    sqs: (perMillion(sqsTotal) / 1e6) * prices.sqs.perMillionRequests,
    lambda: perMillion(gbSeconds) * prices.lambda.perGbSecondArm64 + (perMillion(invocations) / 1e6) * prices.lambda.perMillionRequests,
    apiGateway: (perMillion(work.api) / 1e6) * prices.apiGateway.perMillionHttpApiRequests,
  };
  runs.push({
    vendor,
    size,
    dispatchedS: dispatchedMs / 1000,
    receiptsProcessedS: e2eMs / 1000,
    recipientsPerS: size / (e2eMs / 1000),
    floorS: floorMs / 1000,
    ratio: floorMs / e2eMs,
    chunks: task?.chunkCount,
    providerRequestsPerChunk: stats.requests / (task?.chunkCount ?? 1),
    perRecipient: { wcu: work.wcu / size, rcu: work.rcu / size, sqs: sqsTotal / size, lambdaInvocations: invocations / size, apiRequests: work.api / size },
    sqsByType: work.sqs,
    lambda: Object.fromEntries(Object.keys(work.invocations).map((fn) => [fn, { invocations: work.invocations[fn], seconds: (work.durationMs[fn] ?? 0) / 1000 }])),
    dollarsPerMillion: { ...dollars, total: Object.values(dollars).reduce((a, b) => a + b, 0) },
  });
}
results.runs = runs;

async function floor(vendor: ProviderName, size: number): Promise<number> {
  const provider = await getProvider(vendor);
  const messages = messageStore();
  const receipts = receiptStore();
  const phones = numbers(size);
  const chunkSize = chunkSizeFor([vendor]);
  const chunks: string[][] = [];
  for (let i = 0; i < size; i += chunkSize) chunks.push(phones.slice(i, i + chunkSize));
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < chunks.length) {
        const n = next++;
        const batch = chunks[n] ?? [];
        const out = await provider.send({
          phones: batch,
          content: '【示例】您的订单已发货，请注意查收',
          ...(vendor === 'sendcloud' ? { template: { vendorTemplateId: '10001', vars: { code: '4438' } } } : {}),
          tag: 'floor',
          idempotencyKey: `floor-${vendor}-${size}-${n}`,
        });
        if (out.kind !== 'answered') throw new Error(`floor send to ${vendor} failed: ${JSON.stringify(out)}`);
        const now = new Date().toISOString();
        await messages.putAll(out.results.map((r) => ({ taskId: 'FLOOR', phone: r.phone, chunkNo: n, provider: vendor, status: 'submitted' as const, ...(r.accepted ? { providerMessageId: r.providerMessageId } : {}), submitTime: now })));
        // The receipt's one unavoidable write per recipient.
        await runPool(out.results, 16, (r) =>
          receipts.apply('FLOOR', { type: 'receipt', provider: vendor, phone: r.phone, ...(r.accepted ? { providerMessageId: r.providerMessageId } : {}), status: 'delivered', time: now }, 'floor', Date.now()).then(() => undefined),
        );
      }
    }),
  );
  return performance.now() - t;
}

results.peakRssMbByFunction = peakRssMb;
results.failures = failures;

// ---- the table ----
const f = (x: number, d = 2) => x.toFixed(d);
console.log('\naccept latency (POST /v1/tasks, 7 runs each)');
console.log('  recipients   handler median   handler p95   wall median   wall p95   budget');
for (const a of accept) console.log(`  ${String(a.size).padStart(10)}   ${f(a.handlerMedianMs, 1).padStart(11)} ms   ${f(a.handlerP95Ms, 1).padStart(8)} ms   ${f(a.wallMedianMs, 1).padStart(8)} ms   ${f(a.wallP95Ms, 1).padStart(5)} ms   ${a.size <= 10_000 ? '100 ms' : '1000 ms'}`);
console.log('\nend to end (submit → dispatched → every receipt processed), beside the floor in the same run');
console.log('  vendor      size   dispatched   all receipts   rcpt/s   floor    ratio   req/chunk   WCU/r   RCU/r   SQS/r    λ/r     API/r   $/1M');
for (const r of runs as Array<Record<string, any>>) {
  console.log(
    `  ${String(r.vendor).padEnd(9)} ${String(r.size).padStart(7)}   ${f(r.dispatchedS, 1).padStart(7)} s   ${f(r.receiptsProcessedS, 1).padStart(9)} s   ${f(r.recipientsPerS, 0).padStart(6)}   ${f(r.floorS, 1).padStart(5)} s   ${f(r.ratio).padStart(5)}   ${f(r.providerRequestsPerChunk).padStart(8)}   ${f(r.perRecipient.wcu, 3)}   ${f(r.perRecipient.rcu, 3)}   ${f(r.perRecipient.sqs, 3)}   ${f(r.perRecipient.lambdaInvocations, 4)}   ${f(r.perRecipient.apiRequests, 3)}   ${f(r.dollarsPerMillion.total)}`,
  );
}
console.log(`\ndollars per 1,000,000 recipients beyond SMS fees (${prices.region} list prices of ${prices.date}, bench/prices.json):`);
for (const r of runs as Array<Record<string, any>>) {
  const d = r.dollarsPerMillion;
  console.log(`  ${String(r.vendor).padEnd(9)} ${String(r.size).padStart(7)}: DynamoDB ${f(d.dynamodb)}  SQS ${f(d.sqs)}  Lambda ${f(d.lambda)}  API Gateway ${f(d.apiGateway)}  = ${f(d.total)}`);
}
console.log('\npeak RSS growth during one invocation, by function (MB):');
console.log(`  ${Object.entries(peakRssMb).map(([k, v]) => `${k} ${f(v, 1)}`).join(', ')}`);

// ---- per-number limits at dispatch (off above) ----
{
  const { dispatchChunk } = await import('../lib/tasks/dispatch.js');
  const { fanOutTask } = await import('../lib/tasks/fanout.js');
  const { wiring } = await import('../lib/wiring.js');
  const admin = { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() };
  const M = 20_000;
  const measure = async (accountId: string, limits: { perNumberIntervalSeconds: number; perNumberDaily: number; dailyMessages: number }) => {
    const key = newApiKey();
    await createAccount({ accountId, balance: 1e9, route: ['submail'], limits }, admin, key);
    const r = await call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey: key, body: JSON.stringify({ to: numbers(M), content: '【压测】频率' }) }));
    const refs: { taskId: string; chunkNo: number }[] = [];
    await fanOutTask(r.body.taskId, { tasks, enqueueChunks: async (x) => void refs.push(...x) });
    reset();
    const t = performance.now();
    await Promise.all(refs.map((ref) => dispatchChunk(ref, wiring.dispatch())));
    return { seconds: (performance.now() - t) / 1000, wcuPerRecipient: counts.wcu / M };
  };
  const off = await measure('bench-caps-off', { perNumberIntervalSeconds: 0, perNumberDaily: 0, dailyMessages: 0 });
  const on = await measure('bench-caps-on', { perNumberIntervalSeconds: 60, perNumberDaily: 10, dailyMessages: 0 });
  results.perNumberLimits = { recipients: M, on, off };
  console.log(`\nper-number limits at dispatch (${M.toLocaleString('en')} recipients): on ${f(on.seconds)} s, ${f(on.wcuPerRecipient, 3)} WCU/recipient; off ${f(off.seconds)} s, ${f(off.wcuPerRecipient, 3)} WCU/recipient`);
}

const out = args.out ?? `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nfigures written to ${out}`);
if (failures.length > 0) console.error(`\nCORRECTNESS FAILURES:\n  ${failures.join('\n  ')}`);
else console.log('correctness: every recipient received exactly once, every message final');

await Promise.all(Object.values(sims).map((s) => s.stop()));
await hooks.stop();
await stack.stop();
process.exit(failures.length > 0 ? 1 : 0);
