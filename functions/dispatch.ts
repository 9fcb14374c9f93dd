import middy from '@middy/core';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { metrics } from '../lib/log.js';
import { chunkRefBody, logRecordFailure, parseBody } from '../lib/sqs.js';
import { dispatchChunk } from '../lib/tasks/dispatch.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<SQSEvent>()
  .use(logMetrics(metrics))
  .use(sqsPartialBatchFailure({ logger: logRecordFailure }))
  .handler((event) =>
    Promise.allSettled(event.Records.map(async (record) => dispatchChunk(parseBody(record, chunkRefBody), wiring.dispatch()))),
  );
