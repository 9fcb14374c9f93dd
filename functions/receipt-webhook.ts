import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { publicMiddlewares } from '../lib/http/api.js';
import { ingestPush } from '../lib/receipts/ingest.js';
import { wiring } from '../lib/wiring.js';

/**
 * POST /v1/hooks/{provider} and /v1/hooks/{provider}/{secret}: vendor pushes
 * in, onto the receipts queue. Through the HTTP API the path parameters are
 * given; through the function's URL (same paths) they are read from the path.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(publicMiddlewares())
  .handler(async (event) => {
    const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
    const [, provider = '', secret] = /^\/v1\/hooks\/([^/]+)(?:\/([^/]+))?\/?$/.exec(event.rawPath ?? '') ?? [];
    await ingestPush(
      event.pathParameters?.provider ?? provider,
      {
        contentType: event.headers['content-type'] ?? '',
        body,
        ...((event.pathParameters?.secret ?? secret) ? { secret: event.pathParameters?.secret ?? secret } : {}),
        sourceIp: event.requestContext.http.sourceIp,
      },
      wiring.enqueueEvents,
    );
    // Vendors want a plain 200 (10658 records the body it gets as push_result).
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  });
