import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { purgeListStep } from '../lib/contacts.js';
import { fanOutBody, logRecordFailure, parseBody } from '../lib/sqs.js';
import { fanOutTask } from '../lib/tasks/fanout.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<SQSEvent>()
  .use(sqsPartialBatchFailure({ logger: logRecordFailure }))
  .handler((event) =>
    Promise.allSettled(
      event.Records.map(async (record) => {
        const body = parseBody(record, fanOutBody);
        if ('purgeList' in body) return purgeListStep(body.purgeList.accountId, body.purgeList.listId, wiring.contactDeps());
        return fanOutTask(body.taskId, wiring.fanOut());
      }),
    ),
  );
