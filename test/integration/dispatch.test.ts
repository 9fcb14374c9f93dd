import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config } from '../../lib/config.js';
import { messageStore } from '../../lib/stores/messages.js';
import { taskStore } from '../../lib/stores/tasks.js';
import { ChunkBusyError, dispatchChunk, type CrashPoint, type DispatchDeps } from '../../lib/tasks/dispatch.js';
import { fanOutTask } from '../../lib/tasks/fanout.js';
import { submitTask } from '../../lib/tasks/submit.js';
import { inProcessInvoke, startPoller, type Invoke } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { startSubmailSimulator } from '../../local/simulators/submail.js';
import { createAccount, phones, startSubmail, testDispatchDeps, testSubmitDeps, waitFor } from '../support/fixtures.js';
import { queueUrlsByName } from '../support/queues.js';

/**
 * The chunk state machine against DynamoDB Local and the SUBMAIL simulator:
 * redelivery, concurrency, crashes between steps and provider failures. The
 * simulator counts what it received, which is the proof of "sent once".
 */
let sim: Simulator;
const tasks = taskStore();
const messages = messageStore();
let clock = Date.now();

const deps = (crash?: CrashPoint): DispatchDeps => testDispatchDeps(() => clock, crash);

/** A task with its chunks written and started, as fan-out leaves it, minus the queue. */
async function runningTask(n: number, start: number) {
  const { account } = await createAccount();
  const submitted = await submitTask(account, { to: phones(n, start), content: `【测试】dispatch ${start}` }, testSubmitDeps());
  await fanOutTask(submitted.taskId, { tasks, enqueueChunks: async () => {} });
  return { taskId: submitted.taskId, chunkNo: 0 };
}

beforeAll(async () => {
  sim = await startSubmail();
});
afterAll(async () => sim?.stop());
beforeEach(() => {
  sim.reset();
  clock = Date.now();
});

describe('chunk dispatch: nothing is sent twice', () => {
  it('a redelivered chunk message does not reach the provider again', async () => {
    const ref = await runningTask(3, 13_200_000_000);
    expect(await dispatchChunk(ref, deps())).toBe('sent');
    expect(await dispatchChunk(ref, deps())).toBe('already-settled');
    expect(sim.stats()).toMatchObject({ requests: 1, recipients: 3, duplicateRecipients: 0 });
    const task = await tasks.get(ref.taskId);
    expect(task).toMatchObject({ status: 'succeeded', chunksSettled: 1, counts: { submitted: 3 } });
  });

  it('five concurrent deliveries of one chunk make one provider request', async () => {
    const ref = await runningTask(50, 13_200_001_000);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => dispatchChunk(ref, deps())));
    const fulfilled = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value);
    const busy = results.filter((r) => r.status === 'rejected' && r.reason instanceof ChunkBusyError);
    expect(fulfilled.filter((v) => v === 'sent')).toHaveLength(1);
    expect(fulfilled.length + busy.length).toBe(5);
    expect(sim.stats()).toMatchObject({ requests: 1, recipients: 50, duplicateRecipients: 0 });
    expect((await tasks.get(ref.taskId))?.counts.submitted).toBe(50);
  });

  it('crash after the claim, before the send: busy while leased, then unknown, never sent', async () => {
    const ref = await runningTask(4, 13_200_002_000);
    await expect(dispatchChunk(ref, deps('after-claim'))).rejects.toThrow('injected crash');
    await expect(dispatchChunk(ref, deps())).rejects.toBeInstanceOf(ChunkBusyError);
    clock += 6_000; // lease expired
    expect(await dispatchChunk(ref, deps())).toBe('recovered');
    expect(sim.stats().requests).toBe(0);
    const task = await tasks.get(ref.taskId);
    expect(task).toMatchObject({ status: 'failed', counts: { unknown: 4, submitted: 0 } });
    const recorded = await messages.getMany(ref.taskId, phones(4, 13_200_002_000));
    expect(recorded.map((m) => m.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(recorded[0]?.code).toBe('DISPATCH_INTERRUPTED');
  });

  it('crash after the provider answered, before recording: unknown, not resent', async () => {
    const ref = await runningTask(4, 13_200_003_000);
    await expect(dispatchChunk(ref, deps('after-send'))).rejects.toThrow('injected crash');
    clock += 6_000;
    expect(await dispatchChunk(ref, deps())).toBe('recovered');
    expect(sim.stats()).toMatchObject({ requests: 1, recipients: 4, duplicateRecipients: 0 });
    expect((await tasks.get(ref.taskId))?.counts).toMatchObject({ unknown: 4, submitted: 0 });
  });

  it('crash after recording the messages: recovery keeps their results and counts them once', async () => {
    const ref = await runningTask(4, 13_200_004_000);
    await expect(dispatchChunk(ref, deps('after-messages'))).rejects.toThrow('injected crash');
    clock += 6_000;
    expect(await dispatchChunk(ref, deps())).toBe('recovered');
    expect(await dispatchChunk(ref, deps())).toBe('already-settled');
    expect(sim.stats().requests).toBe(1);
    const task = await tasks.get(ref.taskId);
    expect(task).toMatchObject({ status: 'succeeded', chunksSettled: 1, counts: { submitted: 4, unknown: 0 } });
    const recorded = await messages.getMany(ref.taskId, phones(4, 13_200_004_000));
    expect(recorded.every((m) => m.status === 'submitted' && /^[0-9a-f]{32}$/.test(m.providerMessageId ?? ''))).toBe(true);
  });

  it('a dispatcher that outlives its lease does not count the chunk a second time', async () => {
    const ref = await runningTask(3, 13_200_011_000);
    sim.setFault({ mode: 'delay', ms: 1_500 });
    const slow = dispatchChunk(ref, { ...deps(), now: Date.now, leaseMs: 300 });
    await new Promise((r) => setTimeout(r, 600));
    // Another delivery finds the lease expired and recovers the chunk while the send is in flight.
    expect(await dispatchChunk(ref, { ...deps(), now: Date.now, leaseMs: 300 })).toBe('recovered');
    expect(await slow).toBe('lost-lease');
    const task = await tasks.get(ref.taskId);
    expect(task).toMatchObject({ chunksSettled: 1, counts: { unknown: 3, submitted: 0 } });
    expect(sim.stats()).toMatchObject({ requests: 1, recipients: 3 });
  });

  it('through the real queue: a crash leaves the SQS message, redelivery recovers without a resend', async () => {
    const def = loadServiceDefinition('local');
    const urls = await queueUrlsByName(def);
    const ref = await runningTask(6, 13_200_005_000);
    process.env.QUNFA_CHUNK_LEASE_MS = '800';
    let first = true;
    const real = inProcessInvoke();
    // The first invocation of dispatch dies after the provider call (a Lambda
    // timeout or OOM); later ones run the deployed handler unchanged.
    const invoke: Invoke = async (fn, handler, event) => {
      const record = event.Records[0];
      if (fn === 'dispatch' && first && record && JSON.parse(record.body).taskId === ref.taskId) {
        first = false;
        await dispatchChunk(ref, { ...deps('after-send'), now: Date.now, leaseMs: 800 }); // throws: the invocation dies
      }
      return real(fn, handler, event);
    };
    const poller = startPoller({ sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), def, queueUrls: urls, invoke, visibilityTimeout: 1, waitSeconds: 1, concurrency: 1 });
    try {
      await new SQSClient({ useQueueUrlAsEndpoint: false }).send(
        new SendMessageCommand({ QueueUrl: urls.get(config.dispatchQueue), MessageBody: JSON.stringify(ref) }),
      );
      const task = await waitFor(async () => {
        const t = await tasks.get(ref.taskId);
        return t?.status === 'failed' && t;
      }, 20_000, 'recovered task');
      expect(task.counts).toMatchObject({ unknown: 6, submitted: 0 });
      expect(sim.stats()).toMatchObject({ requests: 1, recipients: 6, duplicateRecipients: 0 });
    } finally {
      await poller.stop();
      delete process.env.QUNFA_CHUNK_LEASE_MS;
    }
  });
});

describe('chunk dispatch: provider failures', () => {
  it('a definitive rejection (余额不足 903) rejects every recipient with a stable code', async () => {
    const ref = await runningTask(3, 13_200_006_000);
    sim.setFault({ mode: 'error', code: '903' });
    expect(await dispatchChunk(ref, deps())).toBe('rejected');
    const task = await tasks.get(ref.taskId);
    expect(task).toMatchObject({ status: 'failed', counts: { rejected: 3, submitted: 0 } });
    const recorded = await messages.getMany(ref.taskId, phones(3, 13_200_006_000));
    expect(recorded.map((m) => m.code)).toEqual(Array(3).fill('PROVIDER_BALANCE_INSUFFICIENT'));
  });

  it('a timeout after the request was written is unknown and is not resent on redelivery', async () => {
    process.env.QUNFA_PROVIDER_TIMEOUT_MS = '300';
    try {
      const ref = await runningTask(2, 13_200_007_000);
      sim.setFault({ mode: 'timeout' });
      expect(await dispatchChunk(ref, deps())).toBe('unknown');
      expect(await dispatchChunk(ref, deps())).toBe('already-settled');
      expect(sim.stats()).toMatchObject({ requests: 1, recipients: 2 });
      const recorded = await messages.getMany(ref.taskId, phones(2, 13_200_007_000));
      expect(recorded.map((m) => [m.status, m.code])).toEqual([['unknown', 'PROVIDER_NO_ANSWER'], ['unknown', 'PROVIDER_NO_ANSWER']]);
    } finally {
      delete process.env.QUNFA_PROVIDER_TIMEOUT_MS;
    }
  });

  it('a 5xx with an unreadable body is unknown', async () => {
    const ref = await runningTask(2, 13_200_008_000);
    sim.setFault({ mode: 'http500' });
    expect(await dispatchChunk(ref, deps())).toBe('unknown');
    expect((await tasks.get(ref.taskId))?.counts.unknown).toBe(2);
  });

  it('a connection refused before anything was written is a definitive rejection', async () => {
    const ref = await runningTask(2, 13_200_009_000);
    const gone = await startSubmailSimulator({ appid: 'a', appkey: 'k' });
    await gone.stop(); // nothing listens on its port any more
    const url = gone.url;
    const refused: DispatchDeps = {
      ...deps(),
      provider: async () => (await import('../../lib/providers/submail.js')).submail.create({ baseUrl: url, appid: 'a', appkey: 'k', signType: 'md5' }, 2_000),
    };
    expect(await dispatchChunk(ref, refused)).toBe('rejected');
    const recorded = await messages.getMany(ref.taskId, phones(2, 13_200_009_000));
    expect(recorded.map((m) => m.code)).toEqual(['PROVIDER_UNREACHABLE', 'PROVIDER_UNREACHABLE']);
  });

  it('a wrong appkey is refused by the simulator with 108 and mapped to PROVIDER_AUTH_FAILED', async () => {
    const ref = await runningTask(1, 13_200_010_000);
    const wrongKey: DispatchDeps = {
      ...deps(),
      provider: async () => (await import('../../lib/providers/submail.js')).submail.create({ baseUrl: sim.url, appid: 'test-app', appkey: 'wrong', signType: 'md5' }, 2_000),
    };
    expect(await dispatchChunk(ref, wrongKey)).toBe('rejected');
    expect(sim.stats().recipients).toBe(0);
    const [m] = await messages.getMany(ref.taskId, ['13200010000']);
    expect(m).toMatchObject({ status: 'rejected', code: 'PROVIDER_AUTH_FAILED' });
  });
});
