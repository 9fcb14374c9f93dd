import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { chunkRefBody, logRecordFailure, parseBody } from '../lib/sqs.js';
import { dispatchChunk } from '../lib/tasks/dispatch.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<SQSEvent>()
  .use(sqsPartialBatchFailure({ logger: logRecordFailure }))
  .handler((event) =>
    Promise.allSettled(event.Records.map(async (record) => dispatchChunk(parseBody(record, chunkRefBody), wiring.dispatch()))),
  );
