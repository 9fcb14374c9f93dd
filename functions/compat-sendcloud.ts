import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { vendorParams } from '../lib/compat/params.js';
import { sendcloudCompat, sendcloudListCompat } from '../lib/compat/sendcloud.js';
import { json, publicMiddlewares } from '../lib/http/api.js';
import { wiring } from '../lib/wiring.js';

/** SendCloud-shaped routes under /smsapi: contact-list tasks, contact lists and their members. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(publicMiddlewares())
  .handler(async (event) => {
    const api = event.rawPath.replace(/^\/smsapi\//, '');
    const p = vendorParams(event);
    const deps = { accounts: wiring.accounts(), tasks: wiring.tasks(), templates: wiring.templates(), submit: wiring.submit() };
    if (api === 'sendContactListTask' || api === 'queryContactListTask') return json(200, await sendcloudCompat(api, p, deps));
    return json(200, await sendcloudListCompat(api, p, { ...deps, contacts: wiring.contactDeps() }));
  });
