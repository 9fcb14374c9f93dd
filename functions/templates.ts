import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiMiddlewares, json, jsonBodyOf, type ApiContext } from '../lib/http/api.js';
import { createTemplate, createTemplateInput, deleteTemplate, getTemplate, updateTemplate, updateTemplateInput } from '../lib/templates.js';
import { wiring } from '../lib/wiring.js';

/** /v1/templates: create, list, read, replace, delete; one resource, one function. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) => {
    const account = context.account;
    const templates = wiring.templates();
    const id = event.pathParameters?.templateId;
    switch (event.requestContext.http.method) {
      case 'POST':
        return json(201, await createTemplate(account, createTemplateInput.parse(jsonBodyOf(event)), templates));
      case 'PUT':
        return json(200, await updateTemplate(account, id ?? '', updateTemplateInput.parse(jsonBodyOf(event)), templates));
      case 'DELETE':
        await deleteTemplate(account, id ?? '', templates);
        return { statusCode: 204 };
      default:
        return id === undefined ? json(200, { templates: await templates.list(account.accountId) }) : json(200, await getTemplate(account, id, templates));
    }
  });
