import middy from '@middy/core';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { metrics, reportReceipts } from '../lib/log.js';
import { processReceipts } from '../lib/receipts/process.js';
import { recordReply } from '../lib/replies.js';
import { backOff, inboundEventBody, parseBody } from '../lib/sqs.js';
import { wiring } from '../lib/wiring.js';

/** The receipt processor: batches from the receipts queue; failed records come back with growing delays. */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(logMetrics(metrics))
  .handler(async (event) => {
    const malformed: string[] = [];
    const records = event.Records.flatMap((r) => {
      try {
        return [{ id: r.messageId, receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1), event: parseBody(r, inboundEventBody) }];
      } catch {
        malformed.push(r.messageId); // fails alone, and ends in the DLQ
        return [];
      }
    });
    const processed = await processReceipts(records, {
      store: wiring.receipts(),
      reply: async (r, taskId) => {
        const { accountId, taskId: answered } = await recordReply(r, taskId, {
          tasks: wiring.tasks(),
          messages: wiring.messages(),
          replies: wiring.replies(),
          suppressions: wiring.suppressions(),
        });
        return { accountId, ...(answered ? { taskId: answered } : {}) };
      },
      notify: wiring.notify,
      report: reportReceipts,
    });
    const failed = [...malformed, ...processed.failed];
    await backOff(event.Records.filter((r) => failed.includes(r.messageId)));
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
