import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deliverCallback, type CallbackBatch } from '../lib/callbacks.js';
import { logger } from '../lib/log.js';
import { backOff, callbackBatchBody, parseBody } from '../lib/sqs.js';
import { wiring } from '../lib/wiring.js';

/** Customer callbacks: one POST per queued batch; a failure comes back later, and after its attempts lands in the DLQ. */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const results = await Promise.allSettled(
    event.Records.map(async (r) => deliverCallback(parseBody(r, callbackBatchBody) as CallbackBatch, { accounts: wiring.accounts() })),
  );
  const failed = event.Records.filter((_, i) => results[i]?.status === 'rejected');
  for (const [i, r] of results.entries()) {
    if (r.status === 'rejected') {
      logger.warn('callback failed; it will be retried', { messageId: event.Records[i]?.messageId, error: String(r.reason) });
    }
  }
  await backOff(failed);
  return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
});
