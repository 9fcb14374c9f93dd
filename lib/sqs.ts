import type { SQSRecord } from 'aws-lambda';
import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { queueUrl, sqsClient } from './aws.js';
import { config } from './config.js';
import { PROVIDER_NAMES, type ProviderName } from './providers/index.js';
import type { InboundEvent } from './providers/types.js';
import { logger } from './log.js';

/** Queue message bodies, parsed at the edge: a malformed one fails and ends in the DLQ. */
export const chunkRefBody = z.object({ taskId: z.string().min(1), chunkNo: z.number().int().min(0) });
export const taskRefBody = z.object({ taskId: z.string().min(1) });
/** The fan-out queue also carries the background purge of a deleted contact list's members. */
export const fanOutBody = z.union([taskRefBody, z.object({ purgeList: z.object({ accountId: z.string().min(1), listId: z.string().min(1) }) })]);

export function parseBody<T>(record: SQSRecord, schema: z.ZodType<T>): T {
  return schema.parse(JSON.parse(record.body));
}

/** A failed record stays on its queue for a retry (and its DLQ after maxReceiveCount). */
export function logRecordFailure(reason: unknown, record: SQSRecord): void {
  const error = reason instanceof Error ? { name: reason.name, message: reason.message } : { message: String(reason) };
  logger.warn('queue record failed; it will be retried', {
    messageId: record.messageId,
    receiveCount: record.attributes?.ApproximateReceiveCount,
    error,
  });
}

const provider = z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]);
const eventBase = {
  provider,
  taskId: z.string().optional(),
  vendorBatchId: z.string().optional(),
  phone: z.string().min(1),
  time: z.string(),
};
export const inboundEventBody: z.ZodType<InboundEvent> = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('receipt'),
    ...eventBase,
    providerMessageId: z.string().optional(),
    status: z.enum(['delivered', 'undelivered', 'pending']),
    code: z.string().optional(),
  }),
  z.object({ type: z.literal('reply'), ...eventBase, content: z.string() }),
]) as z.ZodType<InboundEvent>;

/** Failed records come back after 5 s, 10 s, 20 s … (QUNFA_RETRY_BASE_SECONDS doubling, capped at 15 minutes) instead of the full visibility timeout. */
export async function backOff(records: readonly SQSRecord[]): Promise<void> {
  const first = records[0];
  if (!first) return;
  const url = await queueUrl(first.eventSourceARN.split(':').pop() ?? '');
  for (let i = 0; i < records.length; i += 10) {
    await sqsClient().send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: records.slice(i, i + 10).map((r, j) => ({
          Id: String(j),
          ReceiptHandle: r.receiptHandle,
          VisibilityTimeout: Math.min(900, Math.round(config.retryBaseSeconds * 2 ** (Number(r.attributes.ApproximateReceiveCount ?? 1) - 1))),
        })),
      }),
    ).catch(() => undefined); // best effort: without it the record returns after the queue's timeout
  }
}

export const callbackBatchBody = z.object({
  accountId: z.string().min(1),
  url: z.string().url(),
  events: z.array(z.record(z.string(), z.unknown())).min(1),
  format: z.enum(['submail', 'sendcloud', 'zywx']).optional(),
});
