import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import type { Message } from '../model.js';
import { batchWrite } from './tasks.js';

/**
 * Messages table (pk=<taskId>, sk=<phone>): one item per recipient of a task,
 * written once, after the provider has answered for its chunk (so a recipient
 * costs one ~200-byte write here; `queued` is never written, it is what a
 * task's counters do not yet account for). A phone appears once per task
 * because send-batch de-duplicates, which makes (taskId, phone) the natural key
 * and re-writing after a redelivery idempotent.
 */
export interface MessageStore {
  putAll(messages: readonly Message[]): Promise<void>;
  /** The recorded messages among `phones`; absent ones were never written. */
  getMany(taskId: string, phones: readonly string[]): Promise<Message[]>;
  /** The newest message to `phone` among these tasks, if any. */
  latestTo(phone: string, taskIds: readonly string[]): Promise<Message | undefined>;
  /** A page of a task's messages in phone order, optionally of one status. */
  page(taskId: string, opts: { status?: string; limit: number; after?: string }): Promise<{ messages: Message[]; next?: string }>;
}

const WRITE_CONCURRENCY = 8;

export function messageStore(table = config.messagesTable): MessageStore {
  const db = dynamo();
  return {
    async putAll(messages) {
      const batches: { PutRequest: { Item: Record<string, unknown> } }[][] = [];
      for (let i = 0; i < messages.length; i += 25) {
        batches.push(messages.slice(i, i + 25).map((m) => ({ PutRequest: { Item: toItem(m) } })));
      }
      await runPool(batches, WRITE_CONCURRENCY, (b) => batchWrite(table, b));
    },
    async getMany(taskId, phones) {
      const found: Message[] = [];
      const pages: string[][] = [];
      for (let i = 0; i < phones.length; i += 100) pages.push(phones.slice(i, i + 100));
      await runPool(pages, WRITE_CONCURRENCY, async (page) => {
        let keys: Record<string, unknown>[] = page.map((phone) => ({ pk: taskId, sk: phone }));
        for (let attempt = 0; keys.length > 0; attempt++) {
          if (attempt > 8) throw new Error('BatchGet kept returning unprocessed keys');
          const r = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of r.Responses?.[table] ?? []) found.push(fromItem(item));
          keys = r.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      });
      return found;
    },
    async latestTo(phone, taskIds) {
      let best: Message | undefined;
      for (let i = 0; i < taskIds.length; i += 100) {
        let keys: Record<string, unknown>[] = taskIds.slice(i, i + 100).map((t) => ({ pk: t, sk: phone }));
        for (let attempt = 0; keys.length > 0 && attempt < 8; attempt++) {
          const r = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
          for (const item of r.Responses?.[table] ?? []) {
            const m = fromItem(item);
            if (!best || m.submitTime > best.submitTime) best = m;
          }
          keys = r.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
      return best;
    },

    async page(taskId, { status, limit, after }) {
      const messages: Message[] = [];
      let start: Record<string, unknown> | undefined = after ? { pk: taskId, sk: after } : undefined;
      // A status filter is applied after the read: keep reading until the page is full.
      do {
        const r = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :t',
            ...(status ? { FilterExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' } } : {}),
            ExpressionAttributeValues: { ':t': taskId, ...(status ? { ':s': status } : {}) },
            Limit: limit - messages.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of r.Items ?? []) messages.push(fromItem(item));
        start = r.LastEvaluatedKey;
      } while (start && messages.length < limit);
      const last = messages[messages.length - 1];
      return { messages, ...(start && last ? { next: last.phone } : {}) };
    },
  };
}

const toItem = (m: Message) => {
  const { taskId, phone, ...rest } = m;
  return { pk: taskId, sk: phone, ...rest };
};
const fromItem = (item: Record<string, unknown>): Message => {
  const { pk, sk, ...rest } = item;
  return { taskId: String(pk), phone: String(sk), ...(rest as Omit<Message, 'taskId' | 'phone'>) };
};

export async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
