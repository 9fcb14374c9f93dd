import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiMiddlewares, json, type ApiContext } from '../lib/http/api.js';
import { listReplies, listRepliesQuery } from '../lib/replies.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) =>
    json(200, await listReplies(context.account, listRepliesQuery.parse(event.queryStringParameters ?? {}), wiring.replies())),
  );
