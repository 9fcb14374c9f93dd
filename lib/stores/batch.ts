import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';

/**
 * The batch calls every store uses: items in DynamoDB's batch sizes (25 puts,
 * 100 keys), several batches in flight, and unprocessed items retried with
 * back-off until none is left (or an error, never a silent drop).
 */
const CONCURRENCY = 8;
const MAX_ATTEMPTS = 9;

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

const slices = <T>(xs: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
};

const backOff = (attempt: number) => (attempt > 0 ? new Promise((r) => setTimeout(r, 20 * 2 ** attempt)) : undefined);

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/** Puts every item (idempotent: a repeated put writes the same item). */
export function batchPut(table: string, items: readonly Record<string, unknown>[]): Promise<void> {
  return batchWrite(table, items.map((Item) => ({ PutRequest: { Item } })));
}

/** Deletes every key (idempotent: deleting what is gone does nothing). */
export function batchDelete(table: string, keys: readonly Record<string, unknown>[]): Promise<void> {
  return batchWrite(table, keys.map((Key) => ({ DeleteRequest: { Key } })));
}

async function batchWrite(table: string, requests: readonly WriteRequest[]): Promise<void> {
  await runPool(slices(requests, 25), CONCURRENCY, async (slice) => {
    let pending = slice;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`BatchWrite left ${pending.length} items unprocessed`);
      await backOff(attempt);
      const r = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (r.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  });
}

/** Reads every key; absent items are simply not returned. */
export async function batchGet(table: string, keys: readonly Record<string, unknown>[], consistent = true): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  await runPool(slices(keys, 100), CONCURRENCY, async (slice) => {
    let pending: Record<string, unknown>[] = slice;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`BatchGet left ${pending.length} keys unprocessed`);
      await backOff(attempt);
      const r = await dynamo().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistent } } }));
      found.push(...(r.Responses?.[table] ?? []));
      pending = r.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  });
  return found;
}
