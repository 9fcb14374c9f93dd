import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { z } from 'zod';
import {
  createList,
  createListInput,
  csvRows,
  deleteList,
  importMembers,
  jsonMembersInput,
  jsonRows,
  listMembers,
  listView,
  mustGetList,
  removeMembers,
} from '../lib/contacts.js';
import { apiMiddlewares, bodyText, json, jsonBodyOf, type ApiContext } from '../lib/http/api.js';
import { wiring } from '../lib/wiring.js';

/**
 * /v1/contact-lists and their members: one resource, one function. The body is
 * read here rather than by a parser middleware, because members come as JSON
 * or as CSV (Content-Type: text/csv).
 */
const pageQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().optional() });
const removeInput = z.object({ phones: z.array(z.union([z.string(), z.number()]).transform(String)).min(1).max(10_000) });

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>()
  .use(apiMiddlewares({ accounts: wiring.accounts }))
  .handler(async (event, context) => {
    const account = context.account;
    const method = event.requestContext.http.method;
    const name = event.pathParameters?.name ? decodeURIComponent(event.pathParameters.name) : undefined;
    const members = event.rawPath.endsWith('/members');
    const deps = wiring.contactDeps();

    if (!name) {
      if (method === 'POST') return json(201, await createList(account, createListInput.parse(jsonBodyOf(event)), deps));
      return json(200, { lists: (await deps.contacts.lists(account.accountId)).map(listView) });
    }
    if (!members) {
      if (method === 'DELETE') {
        await deleteList(account, name, deps);
        return { statusCode: 204 };
      }
      return json(200, listView(await mustGetList(account, name, deps.contacts)));
    }
    if (method === 'POST') {
      const csv = /csv/i.test(event.headers?.['content-type'] ?? '');
      const rows = csv ? csvRows(bodyText(event)) : jsonRows(jsonMembersInput.parse(jsonBodyOf(event)));
      return json(200, await importMembers(account, name, rows, deps));
    }
    if (method === 'DELETE') return json(200, await removeMembers(account, name, removeInput.parse(jsonBodyOf(event)).phones, deps));
    return json(200, await listMembers(account, name, pageQuery.parse(event.queryStringParameters ?? {}), deps.contacts));
  });
