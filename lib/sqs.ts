import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { logger } from './log.js';

/** Queue message bodies, parsed at the edge: a malformed one fails and ends in the DLQ. */
export const chunkRefBody = z.object({ taskId: z.string().min(1), chunkNo: z.number().int().min(0) });
export const taskRefBody = z.object({ taskId: z.string().min(1) });

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
