import { createHash } from 'node:crypto';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { batchPut } from './batch.js';
import type { ProviderName } from '../providers/types.js';

/**
 * Replies table: pk=<accountId>, sk=<time>#<phone>#<hash>: listed by time;
 * a push delivered twice writes the same key. Replies no task could be found
 * for are kept under pk=`_unattributed`, never dropped.
 * Suppressions table: pk=<accountId>, sk=<phone>.
 */
export interface Reply {
  accountId: string;
  phone: string;
  content: string;
  time: string;
  provider: ProviderName;
  taskId?: string;
}
export interface Suppression {
  phone: string;
  reason: 'reply' | 'manual';
  time: string;
}

export const UNATTRIBUTED = '_unattributed';

export interface ReplyStore {
  put(r: Reply): Promise<void>;
  list(accountId: string, opts: { since?: string; limit: number; after?: string }): Promise<{ replies: Reply[]; next?: string }>;
}
export interface SuppressionStore {
  add(accountId: string, items: readonly Suppression[]): Promise<void>;
  remove(accountId: string, phone: string): Promise<boolean>;
  list(accountId: string, opts: { limit: number; after?: string }): Promise<{ suppressions: Suppression[]; next?: string }>;
  /** Every suppressed number of the account (checked at submission). */
  all(accountId: string): Promise<Set<string>>;
}

export function replyStore(table = config.repliesTable): ReplyStore {
  const db = dynamo();
  return {
    async put(r) {
      const hash = createHash('sha256').update(r.content).digest('hex').slice(0, 12);
      await db.send(new PutCommand({ TableName: table, Item: { pk: r.accountId, sk: `${r.time}#${r.phone}#${hash}`, ...r } }));
    },
    async list(accountId, { since, limit, after }) {
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: since ? 'pk = :a AND sk >= :since' : 'pk = :a',
          ExpressionAttributeValues: { ':a': accountId, ...(since ? { ':since': since } : {}) },
          Limit: limit,
          ...(after ? { ExclusiveStartKey: { pk: accountId, sk: after } } : {}),
        }),
      );
      const replies = (r.Items ?? []).map(({ pk: _p, sk: _s, ...rest }) => rest as Reply);
      const next = r.LastEvaluatedKey?.sk as string | undefined;
      return { replies, ...(next ? { next } : {}) };
    },
  };
}

export function suppressionStore(table = config.suppressionsTable): SuppressionStore {
  const db = dynamo();
  return {
    async add(accountId, items) {
      await batchPut(table, items.map((s) => ({ pk: accountId, sk: s.phone, ...s })));
    },
    async remove(accountId, phone) {
      const r = await db.send(new DeleteCommand({ TableName: table, Key: { pk: accountId, sk: phone }, ReturnValues: 'ALL_OLD' }));
      return r.Attributes !== undefined;
    },
    async list(accountId, { limit, after }) {
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :a',
          ExpressionAttributeValues: { ':a': accountId },
          Limit: limit,
          ...(after ? { ExclusiveStartKey: { pk: accountId, sk: after } } : {}),
        }),
      );
      const next = r.LastEvaluatedKey?.sk as string | undefined;
      return { suppressions: (r.Items ?? []).map((it) => ({ phone: it.phone, reason: it.reason, time: it.time }) as Suppression), ...(next ? { next } : {}) };
    },
    async all(accountId) {
      const phones = new Set<string>();
      let start: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :a',
            ExpressionAttributeValues: { ':a': accountId },
            ProjectionExpression: 'sk',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const it of r.Items ?? []) phones.add(String(it.sk));
        start = r.LastEvaluatedKey;
      } while (start);
      return phones;
    },
  };
}
