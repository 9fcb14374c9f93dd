import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { vendorParams } from '../lib/compat/params.js';
import { submailCompat } from '../lib/compat/submail.js';
import { json, publicMiddlewares } from '../lib/http/api.js';
import { wiring } from '../lib/wiring.js';

/** SUBMAIL-shaped routes (sms/batchsend, sms/batchxsend, balance/sms, with or without .json). */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(publicMiddlewares())
  .handler(async (event) => {
    const api = event.rawPath.replace(/^\//, '').replace(/\.json$/, '');
    // SUBMAIL answers a request without a Content-Type with 101 (its FAQ #4).
    if (!event.headers?.['content-type']) return json(200, { status: 'error', code: '101', msg: 'Incorrect APP ID' });
    return json(200, await submailCompat(api, vendorParams(event), { accounts: wiring.accounts(), submit: wiring.submit() }));
  });
