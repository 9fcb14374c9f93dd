import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiMiddlewares, json, type ApiContext } from '../lib/http/api.js';
import { listMessagesQuery, listTaskMessages } from '../lib/tasks/messages.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) =>
    json(
      200,
      await listTaskMessages(context.account, event.pathParameters?.taskId ?? '', listMessagesQuery.parse(event.queryStringParameters ?? {}), {
        tasks: wiring.tasks(),
        messages: wiring.messages(),
      }),
    ),
  );
