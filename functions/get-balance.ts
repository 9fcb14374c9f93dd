import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { getBalance } from '../lib/balance.js';
import { apiMiddlewares, json, type ApiContext } from '../lib/http/api.js';
import { getProvider } from '../lib/providers/index.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (_event, context) => json(200, await getBalance(context.account, { provider: getProvider, limits: wiring.limits() })));
