import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as queryTask } from '../../functions/query-task.js';
import { handler as sendBatch } from '../../functions/send-batch.js';
import { inProcessInvoke, startPoller, type Poller } from '../../local/poller.js';
import { loadServiceDefinition } from '../../local/resources.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, phones, startSubmail, taskItemsOf, waitFor } from '../support/fixtures.js';
import { queueUrlsByName } from '../support/queues.js';

let sim: Simulator;
let poller: Poller;
let key: string;
let accountId: string;

const post = (body: unknown, apiKey: string | null = key) =>
  call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', body: typeof body === 'string' ? body : JSON.stringify(body), ...(apiKey ? { apiKey } : {}) }));
const get = (taskId: string, apiKey = key) =>
  call(queryTask, apiEvent({ method: 'GET', path: `/v1/tasks/${taskId}`, apiKey, pathParameters: { taskId } }));

beforeAll(async () => {
  sim = await startSubmail();
  ({ apiKey: key, account: { accountId } } = await createAccount());
  const def = loadServiceDefinition('local');
  poller = startPoller({ sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), def, queueUrls: await queueUrlsByName(def), invoke: inProcessInvoke(), waitSeconds: 1 });
});
afterAll(async () => {
  await poller?.stop();
  await sim?.stop();
});

describe('POST /v1/tasks (send-batch)', () => {
  it('answers 202 with the accepted task and sends it to succeeded', async () => {
    const res = await post({ to: ['13800138000', '+86 139-0013-9000', '123', '8613800138000'], content: '【示例】您的订单已发货', name: 'n1', tag: 't1' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      status: 'pending',
      memberCount: 2,
      invalidCount: 1,
      invalidSamples: ['123'],
      duplicateCount: 1,
      segments: 1,
      fee: 2,
    });
    expect(res.body.taskId).toMatch(/^[0-9A-Z]{26}$/);
    expect(Date.parse(res.body.createTime)).not.toBeNaN();

    const done = await waitFor(async () => {
      const t = await get(res.body.taskId);
      return t.body.status === 'succeeded' && t;
    }, 20_000, 'task to succeed');
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      taskId: res.body.taskId,
      name: 'n1',
      tag: 't1',
      memberCount: 2,
      counts: { queued: 0, submitted: 2, delivered: 0, undelivered: 0, rejected: 0, unknown: 0 },
    });
    expect(done.body.startTime).not.toBeNull();
    expect(done.body.endTime >= done.body.startTime).toBe(true);
  });

  it('accepts `to` as one comma-separated string and counts segments with the signature', async () => {
    const res = await post({ to: '13800138001,13800138002', content: '【示例】' + '好'.repeat(67) });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ memberCount: 2, segments: 2, fee: 4 });
    await waitFor(async () => (await get(res.body.taskId)).body.status === 'succeeded', 20_000, 'task to succeed');
  });

  it('splits 25,000 recipients into 3 chunks of at most 10,000, each sent once', async () => {
    sim.reset();
    const res = await post({ to: phones(25_000, 13_100_000_000), content: '【示例】大批量' });
    expect(res.body.memberCount).toBe(25_000);
    const done = await waitFor(async () => {
      const t = await get(res.body.taskId);
      return t.body.status === 'succeeded' && t;
    }, 60_000, 'large task');
    expect(done.body.chunkCount).toBe(3);
    expect(done.body.counts.submitted).toBe(25_000);
    expect(sim.stats()).toMatchObject({ requests: 3, recipients: 25_000, duplicateRecipients: 0 });
  });

  it.each([
    ['no valid recipient', { to: ['123', 'abc'], content: '【示例】x' }, 'NO_VALID_RECIPIENT', 'to'],
    ['empty to', { to: [], content: '【示例】x' }, 'NO_VALID_RECIPIENT', 'to'],
    ['no content', { to: ['13800138000'] }, 'CONTENT_REQUIRED', 'content'],
    ['empty content', { to: ['13800138000'], content: '' }, 'CONTENT_REQUIRED', 'content'],
    ['no signature', { to: ['13800138000'], content: '您的订单已发货' }, 'SIGNATURE_REQUIRED', 'content'],
    ['content over 1000', { to: ['13800138000'], content: '【示例】' + 'x'.repeat(1000) }, 'CONTENT_TOO_LONG', 'content'],
    ['wrong type for to', { to: 13800138000, content: '【示例】x' }, 'INVALID_REQUEST', 'to'],
    ['wrong type for content', { to: ['13800138000'], content: 5 }, 'INVALID_REQUEST', 'content'],
    ['tag too long', { to: ['13800138000'], content: '【示例】x', tag: 'x'.repeat(33) }, 'INVALID_REQUEST', 'tag'],
    ['a JSON array', ['13800138000'], 'INVALID_REQUEST', undefined],
  ])('400 for %s, naming the field, and stores nothing', async (_name, body, code, field) => {
    const { apiKey, account } = await createAccount();
    const res = await post(body, apiKey);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    if (field) expect(res.body.error.field).toBe(field);
    expect(await taskItemsOf(account.accountId)).toBe(0);
  });

  it('400 INVALID_JSON for a malformed body, and stores nothing', async () => {
    const { apiKey, account } = await createAccount();
    const res = await post('{"to": [', apiKey);
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
    expect(await taskItemsOf(account.accountId)).toBe(0);
  });

  it('400 TOO_MANY_RECIPIENTS above 100,000 entries', async () => {
    const res = await post({ to: phones(100_001).join(','), content: '【示例】x' });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'TOO_MANY_RECIPIENTS', field: 'to' } } });
  });

  it('401 without a key or with a wrong key', async () => {
    expect((await post({ to: ['13800138000'], content: '【示例】x' }, null)).status).toBe(401);
    const wrong = await post({ to: ['13800138000'], content: '【示例】x' }, 'qf_not-a-key');
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  });
});

describe('GET /v1/tasks/{taskId} (query-task)', () => {
  it('404 for an unknown task id', async () => {
    expect(await get('01UNKNOWNUNKNOWNUNKNOWN000')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it("404 for another account's task, exactly as for a missing one", async () => {
    const res = await post({ to: ['13800138009'], content: '【示例】隔离' });
    const other = await createAccount();
    const theirs = await get(res.body.taskId, other.apiKey);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.message).toBe(`task ${res.body.taskId} not found`);
    expect((await get(res.body.taskId)).status).toBe(200);
    expect(accountId).not.toBe(other.account.accountId);
  });

  it('401 without a key', async () => {
    expect((await call(queryTask, apiEvent({ method: 'GET', path: '/v1/tasks/x', pathParameters: { taskId: 'x' } }))).status).toBe(401);
  });
});
