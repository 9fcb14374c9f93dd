import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo } from '../aws.js';
import { batchPut } from './batch.js';
import { conditional } from './conditional.js';
import { transact, type TransactItem, type TransactResult } from './transact.js';
import { config } from '../config.js';
import type { Chunk, ChunkStatus, StatusCounts, Task } from '../model.js';
import type { ProviderName } from '../providers/types.js';

/**
 * Tasks table (pk, sk):
 *   pk=<taskId> sk=task            the task: status, counters, content, route
 *   pk=<taskId> sk=chunk#<000042>  one chunk: its recipients and its dispatch state
 * A task and its chunks share a partition, so a task is one Query away from all
 * of its chunks. GSI `due` (dueShard, dueAt) is sparse: only tasks whose chunks
 * are not yet all on the dispatch queue carry `dueShard` (fan-out and cancel
 * remove it), so the scheduler's query only sees tasks that still need releasing.
 * Items of other modules share the table: receipt-run markers and vendor batch
 * maps (stores/receipts.ts), and `compat#sendcloud#<n>` → task, with its
 * counter, for SendCloud-compatible numeric task ids (compat/sendcloud.ts).
 */
const TASK_SK = 'task';
const chunkSk = (chunkNo: number) => `chunk#${String(chunkNo).padStart(6, '0')}`;
export const DUE_SHARD = 'due';
/** GSI `recent` (recentShard, createTime): every task, newest first, for matching replies. */
const RECENT_SHARD = 'task';

interface ChunkItem extends Omit<Chunk, 'phones'> {
  pk: string;
  sk: string;
  /** Comma-joined: 10,000 numbers are ~120 KB, well inside DynamoDB's 400 KB item limit. */
  phones: string;
}

const toChunk = (item: Record<string, unknown>): Chunk => {
  const { pk: _pk, sk: _sk, phones, ...rest } = item as unknown as ChunkItem;
  return { ...rest, phones: phones ? phones.split(',') : [] };
};

const toTask = (item: Record<string, unknown>): Task => {
  const { pk: _pk, sk: _sk, dueShard: _d, recentShard: _r, ...rest } = item;
  return rest as unknown as Task;
};

export type ClaimResult = { claimed: true; chunk: Chunk } | { claimed: false; chunk: Chunk | undefined };

export interface ChunkSettlement {
  status: Exclude<ChunkStatus, 'queued' | 'sending'>;
  provider?: ProviderName;
  code?: string;
  counts: Partial<StatusCounts>;
}

export interface TaskStore {
  /**
   * Writes the chunks, then the task together with `commit` (the fee's ledger
   * movement) in one transaction: the commit point. Failed conditions are
   * reported with indexes into `commit`.
   */
  create(task: Task, chunks: readonly Chunk[], commit?: TransactItem[]): Promise<TransactResult>;
  get(taskId: string): Promise<Task | undefined>;
  getChunk(taskId: string, chunkNo: number): Promise<Chunk | undefined>;
  /** pending|scheduled → running; false when another run started it (or it was canceled). */
  start(taskId: string, now: string): Promise<boolean>;
  markFannedOut(taskId: string): Promise<void>;
  /** Writes a chunk cut during fan-out; false when that chunk number is already written. */
  putChunk(chunk: Chunk): Promise<boolean>;
  /**
   * Records one step of list fan-out, guarded by the cursor it started from,
   * so two runs of the same step cannot both advance it.
   */
  advanceLists(taskId: string, step: { from: string | undefined; cursor: string | undefined; chunkCount: number; members: number; points: number; suppressed: number; done: boolean; at: string }): Promise<boolean>;
  /** Sets the exact recipient count once fan-out knows it, with `commit` (the fee difference). */
  settleMemberCount(taskId: string, memberCount: number, fee: number, commit: TransactItem[]): Promise<boolean>;
  /**
   * A task that has not started (pending|scheduled) → canceled, every
   * recipient counted `canceled`, with `commit` (the refund) in the same
   * transaction. False when the task was no longer in `from`.
   */
  cancelUnstarted(task: Task, now: string, commit: TransactItem[]): Promise<boolean>;
  /**
   * running → canceled. Chunks still queued settle as canceled when dispatch
   * meets them; a task whose fan-out had not finished stays in `due` so that
   * the scheduler hands its remaining chunks to dispatch to be settled.
   */
  cancelRunning(taskId: string, now: string): Promise<boolean>;
  /** queued → sending, or an expired lease taken over for recovery. */
  claimChunk(taskId: string, chunkNo: number, attempt: string, provider: ProviderName, leaseMs: number, now: number): Promise<ClaimResult>;
  /** Hands a claimed chunk to the next provider of its route, renewing the lease. */
  switchProvider(taskId: string, chunkNo: number, attempt: string, provider: ProviderName, now: number, leaseMs: number): Promise<boolean>;
  /** A new dispatcher takes over a `sending` chunk whose lease expired (idempotent resend). */
  takeOver(taskId: string, chunkNo: number, oldAttempt: string, attempt: string, leaseUntil: number): Promise<boolean>;
  /**
   * sending → final, guarded by the claiming attempt, and the task's counters
   * in the same transaction: a chunk is counted exactly once. False when the
   * chunk was no longer owned by `attempt`.
   */
  settleChunk(taskId: string, chunkNo: number, attempt: string, s: ChunkSettlement, now: string, commit?: TransactItem[]): Promise<boolean>;
  /** running → succeeded | failed once every chunk has settled. Returns the new status if it moved. */
  finishIfDone(taskId: string, now: string): Promise<Task | undefined>;
  /** Ids of the newest tasks created after `sinceIso`, newest first. */
  recentTaskIds(sinceIso: string, limit: number): Promise<string[]>;
  /** Tasks still waiting for fan-out whose due time has passed. */
  listDue(nowIso: string, limit: number): Promise<Task[]>;
}

export function taskStore(table = config.tasksTable): TaskStore {
  const db = dynamo();

  const getChunk = async (taskId: string, chunkNo: number) => {
    const r = await db.send(
      new GetCommand({ TableName: table, Key: { pk: taskId, sk: chunkSk(chunkNo) }, ConsistentRead: true }),
    );
    return r.Item ? toChunk(r.Item) : undefined;
  };

  return {
    async create(task, chunks, commit = []) {
      // Chunks of 10,000 numbers are ~120 KB: 25 of them stay well under BatchWrite's 16 MB.
      // Chunks without their task item are never dispatched (a refused charge leaves them behind).
      await batchPut(table, chunks.map(chunkItem));
      const r = await transact([
        {
          Put: {
            TableName: table,
            Item: { pk: task.taskId, sk: TASK_SK, ...task, recentShard: RECENT_SHARD, ...(task.dueAt ? { dueShard: DUE_SHARD } : {}) },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...commit,
      ]);
      if (r.ok) return r;
      if (r.failed.some((f) => f.index === 0)) throw new Error(`task ${task.taskId} already exists`);
      return { ok: false, failed: r.failed.map((f) => ({ ...f, index: f.index - 1 })) };
    },

    async get(taskId) {
      const r = await db.send(new GetCommand({ TableName: table, Key: { pk: taskId, sk: TASK_SK }, ConsistentRead: true }));
      return r.Item ? toTask(r.Item) : undefined;
    },

    getChunk,

    async start(taskId, now) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: TASK_SK },
          // The task stays in `due` until fan-out has enqueued its chunks, so a crash in between is retried.
          UpdateExpression: 'SET #s = :running, startTime = if_not_exists(startTime, :now)',
          ConditionExpression: '#s = :pending OR #s = :scheduled',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':running': 'running', ':pending': 'pending', ':scheduled': 'scheduled', ':now': now },
        }),
      );
    },

    async cancelUnstarted(task, now, commit) {
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: { pk: task.taskId, sk: TASK_SK },
            UpdateExpression: 'SET #s = :canceled, endTime = :now, #c.#canceled = :all REMOVE dueShard, dueAt',
            ConditionExpression: '#s = :from',
            ExpressionAttributeNames: { '#s': 'status', '#c': 'counts', '#canceled': 'canceled' },
            ExpressionAttributeValues: { ':canceled': 'canceled', ':from': task.status, ':now': now, ':all': task.memberCount },
          },
        },
        ...commit,
      ]);
      if (!r.ok && !r.failed.some((f) => f.index === 0)) throw new Error(`cancel of ${task.taskId}: its refund was refused`);
      return r.ok;
    },

    async cancelRunning(taskId, now) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: TASK_SK },
          UpdateExpression: 'SET #s = :canceled, endTime = :now',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':canceled': 'canceled', ':running': 'running', ':now': now },
        }),
      );
    },

    async markFannedOut(taskId) {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: TASK_SK },
          UpdateExpression: 'SET fannedOut = :t REMOVE dueShard, dueAt',
          ExpressionAttributeValues: { ':t': true },
        }),
      );
    },

    async putChunk(chunk) {
      try {
        await db.send(new PutCommand({ TableName: table, Item: chunkItem(chunk), ConditionExpression: 'attribute_not_exists(pk)' }));
        return true;
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return false;
        throw e;
      }
    },

    async advanceLists(taskId, step) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: TASK_SK },
          UpdateExpression: `SET chunkCount = :n, listsDone = :done, fanOutAt = :at${step.cursor !== undefined ? ', listCursor = :cursor' : ''} ADD listMembers :m, listPoints :pts, suppressedCount :s`,
          ConditionExpression: step.from === undefined ? 'attribute_not_exists(listCursor)' : 'listCursor = :from',
          ExpressionAttributeValues: {
            ':n': step.chunkCount,
            ':done': step.done,
            ':at': step.at,
            ':m': step.members,
            ':pts': step.points,
            ':s': step.suppressed,
            ...(step.cursor !== undefined ? { ':cursor': step.cursor } : {}),
            ...(step.from !== undefined ? { ':from': step.from } : {}),
          },
        }),
      );
    },

    async settleMemberCount(taskId, memberCount, fee, commit) {
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: { pk: taskId, sk: TASK_SK },
            UpdateExpression: 'SET memberCount = :m, fee = :fee, memberCountExact = :t',
            ConditionExpression: 'attribute_not_exists(memberCountExact)',
            ExpressionAttributeValues: { ':m': memberCount, ':fee': fee, ':t': true },
          },
        },
        ...commit,
      ]);
      return r.ok;
    },

    async claimChunk(taskId, chunkNo, attempt, provider, leaseMs, now) {
      try {
        const r = await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: taskId, sk: chunkSk(chunkNo) },
            UpdateExpression: 'SET #s = :sending, attempt = :attempt, leaseUntil = :lease, provider = :p, providerSince = :now',
            ConditionExpression: '#s = :queued',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':sending': 'sending', ':queued': 'queued', ':attempt': attempt, ':lease': now + leaseMs, ':p': provider, ':now': now },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { claimed: true, chunk: toChunk(r.Attributes ?? {}) };
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) {
          return { claimed: false, chunk: e.Item ? toChunk(unmarshall(e.Item)) : undefined };
        }
        throw e;
      }
    },

    async switchProvider(taskId, chunkNo, attempt, provider, now, leaseMs) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: chunkSk(chunkNo) },
          UpdateExpression: 'SET provider = :p, leaseUntil = :lease, providerSince = :now',
          ConditionExpression: '#s = :sending AND attempt = :attempt',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':p': provider, ':lease': now + leaseMs, ':now': now, ':sending': 'sending', ':attempt': attempt },
        }),
      );
    },

    async takeOver(taskId, chunkNo, oldAttempt, attempt, leaseUntil) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { pk: taskId, sk: chunkSk(chunkNo) },
          UpdateExpression: 'SET attempt = :attempt, leaseUntil = :lease',
          ConditionExpression: '#s = :sending AND attempt = :old',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':attempt': attempt, ':lease': leaseUntil, ':sending': 'sending', ':old': oldAttempt },
        }),
      );
    },

    async settleChunk(taskId, chunkNo, attempt, s, now, commit = []) {
      const chunkSets = ['#s = :final', 'settleTime = :now'];
      const chunkValues: Record<string, unknown> = { ':final': s.status, ':sending': 'sending', ':attempt': attempt, ':now': now };
      if (s.provider) { chunkSets.push('provider = :provider'); chunkValues[':provider'] = s.provider; }
      if (s.code) { chunkSets.push('code = :code'); chunkValues[':code'] = s.code; }

      const adds = ['chunksSettled :one'];
      const taskNames: Record<string, string> = {};
      const taskValues: Record<string, unknown> = { ':one': 1, ':now': now };
      for (const [status, n] of Object.entries(s.counts)) {
        if (!n) continue;
        taskNames['#c'] = 'counts';
        taskNames[`#${status}`] = status;
        taskValues[`:${status}`] = n;
        adds.push(`#c.#${status} :${status}`);
        if (s.provider) {
          // byProvider.<provider> exists from creation for every provider of the route.
          taskNames['#bp'] = 'byProvider';
          taskNames['#p'] = s.provider;
          adds.push(`#bp.#p.#${status} :${status}`);
        }
      }
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: { pk: taskId, sk: chunkSk(chunkNo) },
            UpdateExpression: `SET ${chunkSets.join(', ')} REMOVE leaseUntil`,
            ConditionExpression: '#s = :sending AND attempt = :attempt',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: chunkValues,
          },
        },
        {
          Update: {
            TableName: table,
            Key: { pk: taskId, sk: TASK_SK },
            UpdateExpression: `SET startTime = if_not_exists(startTime, :now) ADD ${adds.join(', ')}`,
            ...(Object.keys(taskNames).length ? { ExpressionAttributeNames: taskNames } : {}),
            ExpressionAttributeValues: taskValues,
          },
        },
        ...commit,
      ]);
      if (r.ok) return true;
      if (r.failed.some((f) => f.index === 0)) return false;
      throw new Error(`settling ${taskId}/${chunkNo}: a condition of its refund failed`);
    },

    async finishIfDone(taskId, now) {
      const task = await this.get(taskId);
      if (!task || task.status !== 'running' || !task.fannedOut || task.chunksSettled < task.chunkCount) return undefined;
      const accepted = task.counts.submitted + task.counts.delivered + task.counts.undelivered;
      const status = accepted > 0 ? 'succeeded' : 'failed';
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: taskId, sk: TASK_SK },
            UpdateExpression: 'SET #s = :final, endTime = :now',
            // Until fan-out is done, more chunks may still come (contact lists).
            ConditionExpression: '#s = :running AND chunksSettled = chunkCount AND fannedOut = :t',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':final': status, ':running': 'running', ':now': now, ':t': true },
          }),
        );
        return { ...task, status, endTime: now };
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return undefined;
        throw e;
      }
    },

    async recentTaskIds(sinceIso, limit) {
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'recent',
          KeyConditionExpression: 'recentShard = :r AND createTime >= :since',
          ExpressionAttributeValues: { ':r': RECENT_SHARD, ':since': sinceIso },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (r.Items ?? []).map((it) => String(it.pk));
    },

    async listDue(nowIso, limit) {
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'due',
          KeyConditionExpression: 'dueShard = :d AND dueAt <= :now',
          ExpressionAttributeValues: { ':d': DUE_SHARD, ':now': nowIso },
          Limit: limit,
        }),
      );
      return (r.Items ?? []).map(toTask);
    },
  };
}

function chunkItem(c: Chunk): Record<string, unknown> {
  return { ...c, pk: c.taskId, sk: chunkSk(c.chunkNo), phones: c.phones.join(',') };
}


