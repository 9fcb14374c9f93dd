import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiMiddlewares, json, type ApiContext } from '../lib/http/api.js';
import { sendBatchInput, submitTask } from '../lib/tasks/submit.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts, jsonBody: true }))
  .handler(async (event, context) => {
    const input = sendBatchInput.parse(event.body);
    const task = await submitTask(context.account, input, wiring.submit());
    return json(202, task);
  });
