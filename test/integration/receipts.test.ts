import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as listMessagesFn } from '../../functions/list-messages.js';
import { handler as webhook } from '../../functions/receipt-webhook.js';
import { config } from '../../lib/config.js';
import { subhookSignature } from '../../lib/providers/submail-sign.js';
import { smshookSignature } from '../../lib/providers/sendcloud-sign.js';
import { type ProviderName } from '../../lib/providers/index.js';
import type { InboundReceipt } from '../../lib/providers/types.js';
import { processReceipts, type QueuedEvent } from '../../lib/receipts/process.js';
import { releaseOrphans } from '../../lib/receipts/orphans.js';
import { messageStore } from '../../lib/stores/messages.js';
import { receiptStore, type ReceiptStore } from '../../lib/stores/receipts.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { templateStore } from '../../lib/stores/templates.js';
import { dispatchChunk, type ChunkRef } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import { submitTask } from '../../lib/tasks/submit.js';
import { inProcessInvoke, startPoller, type Poller } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { SIMULATORS } from '../../local/simulators/index.js';
import { apiEvent, call, createAccount, phones, testDispatchDeps, testSubmitDeps, waitFor } from '../support/fixtures.js';
import { startHookServer } from '../support/hook-server.js';
import { queueUrlsByName } from '../support/queues.js';

/**
 * Receipts end to end: the simulators push real webhooks into the webhook
 * handler, the receipts queue feeds the processor, and messages and task
 * counters end exact under duplicates, reordering, early receipts and crashes.
 */
const sims = {} as Record<ProviderName, Simulator>;
const hookPaths = {} as Record<ProviderName, string>;
const providerConfig: Record<string, Record<string, string>> = {};
const tasks = taskStore();
const messages = messageStore();
const receipts = receiptStore();
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const def = loadServiceDefinition('local');
let hooks: Awaited<ReturnType<typeof startHookServer>>;
let poller: Poller | undefined;
let urls: Map<string, string>;

beforeAll(async () => {
  hooks = await startHookServer(webhook);
  for (const name of Object.keys(SIMULATORS) as ProviderName[]) {
    const started = await SIMULATORS[name]({ push: { delayMs: 50 } });
    sims[name] = started.sim;
    hookPaths[name] = started.hookPath;
    providerConfig[name] = started.config;
    started.sim.setPush({ url: `${hooks.base}${started.hookPath}` });
  }
  process.env.QUNFA_PROVIDERS_JSON = JSON.stringify(providerConfig);
  urls = await queueUrlsByName(def);
});
afterAll(async () => {
  await poller?.stop();
  await Promise.all(Object.values(sims).map((s) => s.stop()));
  await hooks?.stop();
});

const depth = async () => {
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: urls.get(config.receiptsQueue), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
};
const push = (provider: string, contentType: string, body: string, secret?: string) =>
  call(webhook, apiEvent({ method: 'POST', path: `/v1/hooks/${provider}`, body, contentType, pathParameters: { provider, ...(secret ? { secret } : {}) } }));
const form = (f: Record<string, string>) => new URLSearchParams(f).toString();

/** Sends a task through dispatch for one provider route; returns its id. */
async function sentTask(route: ProviderName[], n: number, start: number): Promise<string> {
  const { account } = await createAccount({ route });
  const input = route[0] === 'sendcloud'
    ? { to: phones(n, start), templateId: 'verify', vars: { code: '1' } }
    : { to: phones(n, start), content: `【示例】回执 ${start}` };
  await templateStore().create({ accountId: account.accountId, templateId: 'verify', name: 'v', text: '【示例】您的验证码是%code%，10分钟内有效', variables: ['code'], vendorTemplateIds: { sendcloud: '10001' }, createTime: new Date().toISOString() }).catch(() => undefined);
  const { taskId } = await submitTask({ ...account, route }, input, testSubmitDeps());
  const refs: ChunkRef[] = [];
  await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
  for (const ref of refs) await dispatchChunk(ref, { ...testDispatchDeps(Date.now), receipts, leaseMs: 30_000 });
  return taskId;
}

describe('webhooks refuse what they cannot trust, and store nothing', () => {
  it('a forged SUBHOOK signature → 401', async () => {
    const token = 'a'.repeat(32);
    const res = await push('submail', 'application/x-www-form-urlencoded', form({ events: 'delivered', address: '13800138000', send_id: 'x', token, signature: subhookSignature(token, 'not-the-key'), tag: 'T' }));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'BAD_SIGNATURE' } } });
  });

  it('a stale SMSHook timestamp → 401, even correctly signed', async () => {
    const timestamp = String(Date.now() - 3_600_000);
    const token = 'b'.repeat(50);
    const body = JSON.stringify({ event: 'deliver', smsId: 'x$13800138000', phone: '13800138000', timestamp, token, signature: smshookSignature(providerConfig.sendcloud?.hookKey ?? '', timestamp, token) });
    expect(await push('sendcloud', 'application/json', body)).toMatchObject({ status: 401, body: { error: { code: 'STALE_PUSH' } } });
  });

  it('a wrong 10658 secret path → 403; none at all → 403', async () => {
    const body = form({ mobile: '13800138000', taskid: '1', status: '1', code: 'DELIVRD', receivetime: '2026-11-24 10:00:00' });
    expect(await push('zywx', 'application/x-www-form-urlencoded', body, 'guessed-secret-0123456789')).toMatchObject({ status: 403, body: { error: { code: 'BAD_SECRET' } } });
    expect((await push('zywx', 'application/x-www-form-urlencoded', body)).status).toBe(403);
  });

  it('malformed bodies → 400; an unknown provider → 404', async () => {
    const secret = providerConfig.zywx?.hookSecret ?? '';
    expect(await push('zywx', 'application/x-www-form-urlencoded', form({ mobile: '13800138000' }), secret)).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_PUSH' } } });
    expect((await push('sendcloud', 'application/json', '{not json')).status).toBe(400);
    expect((await push('submail', 'application/x-www-form-urlencoded', 'events=delivered')).status).toBe(400);
    expect((await push('twilio', 'application/json', '{}')).status).toBe(404);
  });

  it('nothing refused reached the receipts queue', async () => {
    expect(await depth()).toBe(0);
  });

  it('a valid push is acknowledged with 200 after one enqueue', async () => {
    const secret = providerConfig.zywx?.hookSecret ?? '';
    const t = Date.now();
    const res = await push('zywx', 'application/x-www-form-urlencoded', form({ mobile: '13800138000', taskid: '999', content: '收到', receivetime: '2026-11-24 10:00:00' }), secret);
    expect(res.status).toBe(200);
    expect(Date.now() - t).toBeLessThan(200);
    expect(await depth()).toBe(1);
  });
  it('through the Function URL (no path parameters, the same paths): the same checks and the same enqueue', async () => {
    const secret = providerConfig.zywx?.hookSecret ?? '';
    const viaUrl = (path: string, body: string) => {
      const { pathParameters: _p, ...event } = apiEvent({ method: 'POST', path, body, contentType: 'application/x-www-form-urlencoded' });
      return call(webhook, event);
    };
    const body = form({ mobile: '13800138000', taskid: '998', content: '好', receivetime: '2026-11-24 10:00:00' });
    expect((await viaUrl('/v1/hooks/zywx/guessed-secret-0123456789', body)).status).toBe(403);
    expect((await viaUrl(`/v1/hooks/zywx/${secret}`, body)).status).toBe(200);
    expect(await depth()).toBe(2);
  });
});

describe('receipts through the pipeline', () => {
  beforeAll(() => {
    poller = startPoller({ sqs, def, queueUrls: urls, invoke: inProcessInvoke(), visibilityTimeout: 2, waitSeconds: 1 });
  });

  it.each(['submail', 'sendcloud', 'zywx'] as const)('%s receipts reach the right messages and the task counts', async (provider) => {
    sims[provider].setPush({ undelivered: 0.2 });
    const n = 30;
    const start = { submail: 13_500_000_000, sendcloud: 13_500_100_000, zywx: 13_500_200_000 }[provider];
    const taskId = await sentTask([provider], n, start);
    await sims[provider].drainPushes();
    const task = await waitFor(async () => {
      const t = await tasks.get(taskId);
      return t && t.counts.delivered + t.counts.undelivered === n && t;
    }, 20_000, `${provider} receipts`);
    expect(task.counts).toMatchObject({ submitted: 0, rejected: 0, unknown: 0 });
    expect(task.counts.undelivered).toBeGreaterThan(0);
    expect(task.byProvider[provider]).toMatchObject({ delivered: task.counts.delivered, undelivered: task.counts.undelivered, submitted: 0 });
    const all = await messages.getMany(taskId, phones(n, start));
    expect(all.filter((m) => m.status === 'delivered')).toHaveLength(task.counts.delivered);
    expect(all.every((m) => (m as { receiptTime?: string }).receiptTime)).toBe(true);
  });

  it('duplicated and reordered pushes leave one final status per message and exact counters', async () => {
    sims.submail.setPush({ duplicate: 0.5, reorder: true, undelivered: 0.3 });
    const n = 200;
    const taskId = await sentTask(['submail'], n, 13_500_300_000);
    await sims.submail.drainPushes();
    expect(sims.submail.stats().pushesDuplicated).toBeGreaterThan(20);
    await waitFor(async () => (await depth()) === 0, 20_000, 'receipts queue to drain');
    const task = await tasks.get(taskId);
    const all = await messages.getMany(taskId, phones(n, 13_500_300_000));
    const delivered = all.filter((m) => m.status === 'delivered').length;
    expect(task?.counts).toMatchObject({ submitted: 0, delivered, undelivered: n - delivered });
    sims.submail.setPush({ duplicate: 0, reorder: false, undelivered: 0 });
  });

  it('GET /v1/tasks/{taskId}/messages pages per-recipient status; another account gets 404', async () => {
    const { account, apiKey } = await createAccount({ route: ['zywx'] });
    const { taskId } = await submitTask(account, { to: phones(5, 13_500_400_000), content: '【示例】列表' }, testSubmitDeps());
    const refs: ChunkRef[] = [];
    await fanOutTask(taskId, { tasks, enqueueChunks: async (r) => void refs.push(...r) });
    for (const ref of refs) await dispatchChunk(ref, { ...testDispatchDeps(Date.now), receipts, leaseMs: 30_000 });
    await waitFor(async () => (await tasks.get(taskId))?.counts.delivered === 5, 20_000, 'deliveries');
    const list = (qs: Record<string, string>, key = apiKey) =>
      call(listMessagesFn, { ...apiEvent({ method: 'GET', path: `/v1/tasks/${taskId}/messages`, apiKey: key, pathParameters: { taskId } }), queryStringParameters: qs });
    const first = await list({ limit: '2' });
    expect(first.status).toBe(200);
    expect(first.body.messages).toHaveLength(2);
    expect(first.body.messages[0]).toMatchObject({ phone: '13500400000', provider: 'zywx', status: 'delivered', code: 'DELIVRD', providerMessageId: expect.stringMatching(/^\d+:13500400000$/) });
    expect(first.body.messages[0].receiptTime).not.toBeNull();
    const second = await list({ limit: '2', cursor: first.body.cursor });
    expect(second.body.messages.map((m: { phone: string }) => m.phone)).toEqual(['13500400002', '13500400003']);
    expect((await list({ status: 'undelivered' })).body.messages).toEqual([]);
    expect((await list({ limit: 'x' })).status).toBe(400);
    expect((await list({}, (await createAccount()).apiKey)).status).toBe(404);
  });
});

describe('the processor on its own: early receipts, late sending, crashes', () => {
  const receipt = (taskId: string, phone: string, over: Partial<InboundReceipt> = {}): InboundReceipt => ({
    type: 'receipt', provider: 'submail', taskId, phone, status: 'delivered', code: 'DELIVRD', time: new Date().toISOString(), ...over,
  });
  const q = (e: InboundReceipt, receiveCount = 1, id = `${e.phone}-${Math.random()}`): QueuedEvent => ({ id, receiveCount, event: e });

  async function submittedTask(n: number, start: number, write = true): Promise<{ taskId: string; ids: string[] }> {
    const { account } = await createAccount();
    const { taskId } = await submitTask(account, { to: phones(n, start), content: '【示例】处理器' }, testSubmitDeps());
    await fanOutTask(taskId, { tasks, enqueueChunks: async () => {} });
    const ids = phones(n, start).map((p) => `sid-${p}`);
    if (write) await writeMessages(taskId, n, start);
    return { taskId, ids };
  }
  async function writeMessages(taskId: string, n: number, start: number) {
    const now = new Date().toISOString();
    await messages.putAll(phones(n, start).map((phone) => ({ taskId, phone, chunkNo: 0, provider: 'submail' as const, status: 'submitted' as const, providerMessageId: `sid-${phone}`, submitTime: now })));
    await tasks.claimChunk(taskId, 0, 'a1', 'submail', 60_000, Date.now());
    await tasks.settleChunk(taskId, 0, 'a1', { status: 'sent', provider: 'submail', counts: { submitted: n } }, now);
  }

  it('a late `sending` after `delivered` changes nothing; a duplicate counts nothing', async () => {
    const { taskId } = await submittedTask(1, 13_600_000_000);
    const r = receipt(taskId, '13600000000', { providerMessageId: 'sid-13600000000' });
    await processReceipts([q(r)], { store: receipts });
    await processReceipts([q({ ...r, status: 'pending', code: 'sending' }), q(r), q({ ...r, status: 'undelivered' })], { store: receipts });
    const [m] = await messages.getMany(taskId, ['13600000000']);
    expect(m?.status).toBe('delivered');
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 0, delivered: 1, undelivered: 0 });
  });

  it('a receipt naming another vendor message id is ignored', async () => {
    const { taskId } = await submittedTask(1, 13_600_001_000);
    await processReceipts([q(receipt(taskId, '13600001000', { providerMessageId: 'someone-else' }))], { store: receipts });
    expect((await messages.getMany(taskId, ['13600001000']))[0]?.status).toBe('submitted');
  });

  it('a receipt that beats its message is retried, then kept as an orphan, and lands once the message is written', async () => {
    const { taskId } = await submittedTask(2, 13_600_002_000, false);
    const early = [receipt(taskId, '13600002000', { providerMessageId: 'sid-13600002000' }), receipt(taskId, '13600002001', { providerMessageId: 'sid-13600002001', status: 'undelivered' })];
    const first = await processReceipts(early.map((e) => q(e, 1)), { store: receipts, orphanAfter: 3 });
    expect(first.failed).toHaveLength(2); // retried with backoff
    const third = await processReceipts(early.map((e) => q(e, 3)), { store: receipts, orphanAfter: 3 });
    expect(third.failed).toHaveLength(0); // kept, not dropped
    const orphans = (await receipts.listOrphans(100)).filter((o) => o.receipt.taskId === taskId);
    expect(orphans).toHaveLength(2);

    await writeMessages(taskId, 2, 13_600_002_000);
    const requeued: QueuedEvent[] = [];
    await releaseOrphans(receipts, async (events) => void requeued.push(...events.filter((e) => e.taskId === taskId).map((e) => q(e as InboundReceipt))));
    expect(requeued).toHaveLength(2);
    await processReceipts(requeued, { store: receipts });
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 0, delivered: 1, undelivered: 1 });
    expect((await receipts.listOrphans(100)).filter((o) => o.receipt.taskId === taskId)).toHaveLength(0);
  });

  it('a run that dies after moving messages but before counting them is recovered exactly once', async () => {
    const n = 10;
    const t0 = Date.now();
    const { taskId } = await submittedTask(n, 13_600_003_000);
    const events = phones(n, 13_600_003_000).map((p) => q(receipt(taskId, p, { providerMessageId: `sid-${p}` }), 1, `rec-${p}`));
    const dying: ReceiptStore = { ...receipts, addCounts: async () => { throw new Error('Lambda timed out'); } };
    const first = await processReceipts(events, { store: dying, now: () => t0 });
    expect(first.failed).toHaveLength(n);
    expect((await tasks.get(taskId))?.counts.delivered).toBe(0); // moved, not yet counted

    // Redelivered at once, the dying run might only be slow: retried, not recounted.
    const redelivered = events.map((e) => ({ ...e, receiveCount: 2 }));
    expect((await processReceipts(redelivered, { store: receipts, now: () => t0 + 1_000 })).failed).toHaveLength(n);
    expect((await tasks.get(taskId))?.counts.delivered).toBe(0);

    // Past the function timeout SQS redelivers them, to two concurrent runs at once; and a fresh duplicate push arrives too.
    const later = () => t0 + 121_000;
    await Promise.all([
      processReceipts(redelivered.slice(0, 7), { store: receipts, now: later }),
      processReceipts(redelivered.slice(3), { store: receipts, now: later }),
      processReceipts(events.slice(0, 5), { store: receipts, now: later }),
    ]);
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 0, delivered: n });
    await processReceipts(redelivered, { store: receipts, now: later });
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 0, delivered: n });
  });

  it('a run that is only slow (its receipts redelivered while it works) is not counted twice', async () => {
    const n = 6;
    const { taskId } = await submittedTask(n, 13_600_005_000);
    const events = phones(n, 13_600_005_000).map((p) => q(receipt(taskId, p, { providerMessageId: `sid-${p}` }), 1, `slow-${p}`));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: ReceiptStore = { ...receipts, addCounts: async (...args) => { await gate; return receipts.addCounts(...args); } };
    const first = processReceipts(events, { store: slow });
    await new Promise((r) => setTimeout(r, 300));
    await processReceipts(events.map((e) => ({ ...e, receiveCount: 2 })), { store: receipts });
    release();
    await first;
    expect((await tasks.get(taskId))?.counts).toMatchObject({ submitted: 0, delivered: n });
  });

  it('a receipt for a message left `unknown` by a timeout moves it to its real status', async () => {
    const { taskId } = await submittedTask(1, 13_600_004_000, false);
    const now = new Date().toISOString();
    await messages.putAll([{ taskId, phone: '13600004000', chunkNo: 0, provider: 'submail', status: 'unknown', code: 'PROVIDER_NO_ANSWER', submitTime: now }]);
    await tasks.claimChunk(taskId, 0, 'a1', 'submail', 60_000, Date.now());
    await tasks.settleChunk(taskId, 0, 'a1', { status: 'unknown', provider: 'submail', counts: { unknown: 1 } }, now);
    await processReceipts([q(receipt(taskId, '13600004000', { providerMessageId: 'learned-late' }))], { store: receipts });
    expect((await tasks.get(taskId))?.counts).toMatchObject({ unknown: 0, delivered: 1 });
  });
});
