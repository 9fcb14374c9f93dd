import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { notFound } from '../lib/errors.js';
import { apiMiddlewares, type ApiContext } from '../lib/http/api.js';
import { normalizePhone } from '../lib/phone.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) => {
    const phone = normalizePhone(decodeURIComponent(event.pathParameters?.phone ?? '')) ?? '';
    if (!(await wiring.suppressions().remove(context.account.accountId, phone))) throw notFound(`suppression ${phone}`);
    return { statusCode: 204 };
  });
