import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import type { Message } from '../model.js';
import { batchGet, batchPut } from './batch.js';

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

export function messageStore(table = config.messagesTable): MessageStore {
  const db = dynamo();
  return {
    async putAll(messages) {
      await batchPut(table, messages.map(toItem));
    },
    async getMany(taskId, phones) {
      return (await batchGet(table, phones.map((phone) => ({ pk: taskId, sk: phone })))).map(fromItem);
    },
    async latestTo(phone, taskIds) {
      const found = (await batchGet(table, taskIds.map((pk) => ({ pk, sk: phone })), false)).map(fromItem);
      return found.reduce<Message | undefined>((best, m) => (!best || m.submitTime > best.submitTime ? m : best), undefined);
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
