import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { conditional } from './conditional.js';
import { config } from '../config.js';
import type { SettledMessageStatus, StatusCounts } from '../model.js';
import type { InboundReceipt, ProviderName } from '../providers/types.js';

/**
 * What receipt processing writes, and where:
 *   messages table  pk=<taskId> sk=<phone>   status moves submitted|unknown → delivered|undelivered
 *                                             once, tagged with the run that moved it (`rb`)
 *   tasks table     pk=<taskId> sk=rcpt#<run> marker: this run's counts are on the task (TTL 7 days)
 *                   pk=batch#<provider>#<id>  a vendor batch id → its task (10658 names messages so)
 *                   pk=orphans sk=<time>#<id> receipts whose message was not found yet
 * A run updates its messages one by one (the conditional write is the
 * duplicate filter) and then, per task, adds all its counts in one
 * transaction with its marker: one task write per task per batch.
 */
export type ApplyResult =
  | { kind: 'moved'; from: SettledMessageStatus; provider: ProviderName }
  | { kind: 'missing' }
  /** Already final; `rb` is the run that moved it (at `rbAt`, ms), `from` what it was before. */
  | { kind: 'final'; status: string; rb?: string; rbAt?: number; from?: SettledMessageStatus; provider?: ProviderName }
  | { kind: 'mismatch' };

export interface CountDelta {
  counts: Partial<StatusCounts>;
  byProvider: Partial<Record<ProviderName, Partial<StatusCounts>>>;
}

export interface ReceiptStore {
  apply(taskId: string, r: InboundReceipt, run: string, now: number): Promise<ApplyResult>;
  /** Moves a message's `rb` from a dead run to this one; false when someone else did. */
  retag(taskId: string, phone: string, oldRun: string, run: string, now: number): Promise<boolean>;
  hasMarker(taskId: string, run: string): Promise<boolean>;
  /** Adds a run's counts to a task with its marker; false when the marker exists (already added). */
  addCounts(taskId: string, run: string, delta: CountDelta): Promise<boolean>;
  putBatch(provider: ProviderName, vendorBatchId: string, taskId: string): Promise<void>;
  taskForBatch(provider: ProviderName, vendorBatchId: string): Promise<string | undefined>;
  putOrphan(r: InboundReceipt, id: string): Promise<void>;
  listOrphans(limit: number): Promise<{ key: string; receipt: InboundReceipt }[]>;
  deleteOrphans(keys: readonly string[]): Promise<void>;
}

const MARKER_TTL_S = 7 * 86_400;

export function receiptStore(tasksTable = config.tasksTable, messagesTable = config.messagesTable): ReceiptStore {
  const db = dynamo();
  return {
    async apply(taskId, r, run, now) {
      try {
        const out = await db.send(
          new UpdateCommand({
            TableName: messagesTable,
            Key: { pk: taskId, sk: r.phone },
            // Operands read the item as it was, so prevStatus keeps the status we move from.
            UpdateExpression: 'SET prevStatus = #s, #s = :new, receiptTime = :t, receiptCode = :code, rb = :run, rbAt = :now',
            ConditionExpression:
              'attribute_exists(pk) AND (#s = :submitted OR #s = :unknown) AND (attribute_not_exists(providerMessageId) OR providerMessageId = :id)',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: {
              ':new': r.status,
              ':t': r.time,
              ':code': r.code ?? '',
              ':run': run,
              ':now': now,
              ':submitted': 'submitted',
              ':unknown': 'unknown',
              ':id': r.providerMessageId ?? '',
            },
            ReturnValues: 'ALL_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const old = out.Attributes ?? {};
        return { kind: 'moved', from: old.status as SettledMessageStatus, provider: old.provider as ProviderName };
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
        if (!e.Item) return { kind: 'missing' };
        const item = unmarshall(e.Item) as Record<string, string | undefined>;
        const rbAt = Number(item.rbAt);
        if (item.status === 'submitted' || item.status === 'unknown') return { kind: 'mismatch' };
        return {
          kind: 'final',
          status: item.status ?? '',
          ...(item.rb ? { rb: item.rb } : {}),
          ...(Number.isFinite(rbAt) ? { rbAt } : {}),
          ...(item.prevStatus ? { from: item.prevStatus as SettledMessageStatus } : {}),
          ...(item.provider ? { provider: item.provider as ProviderName } : {}),
        };
      }
    },

    async retag(taskId, phone, oldRun, run, now) {
      return conditional(
        new UpdateCommand({
          TableName: messagesTable,
          Key: { pk: taskId, sk: phone },
          UpdateExpression: 'SET rb = :run, rbAt = :now',
          ConditionExpression: 'rb = :old',
          ExpressionAttributeValues: { ':run': run, ':old': oldRun, ':now': now },
        }),
      );
    },

    async hasMarker(taskId, run) {
      const r = await db.send(new GetCommand({ TableName: tasksTable, Key: { pk: taskId, sk: `rcpt#${run}` }, ConsistentRead: true }));
      return r.Item !== undefined;
    },

    async addCounts(taskId, run, delta) {
      const names: Record<string, string> = { '#c': 'counts' };
      const values: Record<string, number> = {};
      const adds: string[] = [];
      for (const [status, n] of Object.entries(delta.counts)) {
        if (!n) continue;
        names[`#${status}`] = status;
        values[`:${status}`] = n;
        adds.push(`#c.#${status} :${status}`);
      }
      let i = 0;
      for (const [provider, counts] of Object.entries(delta.byProvider)) {
        names['#bp'] = 'byProvider';
        names[`#p${i}`] = provider;
        for (const [status, n] of Object.entries(counts ?? {})) {
          if (!n) continue;
          names[`#${status}`] = status;
          values[`:p${i}${status}`] = n;
          adds.push(`#bp.#p${i}.#${status} :p${i}${status}`);
        }
        i++;
      }
      if (adds.length === 0) return true;
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: tasksTable,
                  Item: { pk: taskId, sk: `rcpt#${run}`, expiresAt: Math.floor(Date.now() / 1000) + MARKER_TTL_S },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: tasksTable,
                  Key: { pk: taskId, sk: 'task' },
                  UpdateExpression: `ADD ${adds.join(', ')}`,
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeNames: names,
                  ExpressionAttributeValues: values,
                },
              },
            ],
          }),
        );
        return true;
      } catch (e) {
        if (e instanceof TransactionCanceledException && e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
        throw e;
      }
    },

    async putBatch(provider, vendorBatchId, taskId) {
      await db.send(new PutCommand({ TableName: tasksTable, Item: { pk: `batch#${provider}#${vendorBatchId}`, sk: 'batch', taskId } }));
    },

    async taskForBatch(provider, vendorBatchId) {
      const r = await db.send(
        new GetCommand({ TableName: tasksTable, Key: { pk: `batch#${provider}#${vendorBatchId}`, sk: 'batch' }, ConsistentRead: true }),
      );
      return r.Item?.taskId as string | undefined;
    },

    async putOrphan(r, id) {
      await db.send(new PutCommand({ TableName: tasksTable, Item: { pk: 'orphans', sk: `${r.time}#${id}`, receipt: r } }));
    },

    async listOrphans(limit) {
      const r = await db.send(
        new QueryCommand({ TableName: tasksTable, KeyConditionExpression: 'pk = :o', ExpressionAttributeValues: { ':o': 'orphans' }, Limit: limit, ConsistentRead: true }),
      );
      return (r.Items ?? []).map((it) => ({ key: String(it.sk), receipt: it.receipt as InboundReceipt }));
    },

    async deleteOrphans(keys) {
      await Promise.all(keys.map((sk) => db.send(new DeleteCommand({ TableName: tasksTable, Key: { pk: 'orphans', sk } }))));
    },
  };
}
