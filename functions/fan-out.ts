import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { logRecordFailure, parseBody, taskRefBody } from '../lib/sqs.js';
import { fanOutTask } from '../lib/tasks/fanout.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<SQSEvent>()
  .use(sqsPartialBatchFailure({ logger: logRecordFailure }))
  .handler((event) =>
    Promise.allSettled(
      event.Records.map(async (record) =>
        fanOutTask(parseBody(record, taskRefBody).taskId, { tasks: wiring.tasks(), enqueueChunks: wiring.enqueueChunks }),
      ),
    ),
  );
