import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { vendorParams } from '../lib/compat/params.js';
import { zywxCompat } from '../lib/compat/zywx.js';
import { json, publicMiddlewares } from '../lib/http/api.js';
import { wiring } from '../lib/wiring.js';

/** 10658-shaped routes (smsApi/group, smsApi/group/getBalance). */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(publicMiddlewares())
  .handler(async (event) => {
    const api = event.rawPath.endsWith('/getBalance') ? 'smsApi/group/getBalance' : 'smsApi/group';
    return json(200, await zywxCompat(api, vendorParams(event), { accounts: wiring.accounts(), submit: wiring.submit() }));
  });
