import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiMiddlewares, json, type ApiContext } from '../lib/http/api.js';
import { cancelTask } from '../lib/tasks/cancel.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) => json(200, await cancelTask(context.account, event.pathParameters?.taskId ?? '', { tasks: wiring.tasks(), ledger: wiring.ledger() })));
