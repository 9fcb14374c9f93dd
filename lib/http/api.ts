import type { MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ZodError } from 'zod';
import { QunfaError, unauthorized } from '../errors.js';
import { logger } from '../log.js';
import type { Account } from '../model.js';
import type { AccountStore } from '../stores/accounts.js';

/**
 * The middlewares every /v1 route shares, so a handler is one line of logic:
 * header normalisation, JSON bodies whatever the Content-Type (curl -d sends
 * form-urlencoded), Bearer authentication, and one error shape
 * `{ "error": { "code", "message", "field"? } }` for everything that goes wrong.
 */
export interface ApiContext extends Context {
  account: Account;
}
type Api = MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, ApiContext>;

export function apiMiddlewares(opts: { accounts: () => AccountStore; jsonBody?: boolean }): Api[] {
  const list: Api[] = [
    httpHeaderNormalizer() as Api,
    httpErrorHandler({ logger: false, fallbackMessage: errorBody('INTERNAL', 'internal error') }) as Api,
    errorShape(),
  ];
  if (opts.jsonBody) list.push(httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<typeof httpJsonBodyParser>[0]) as unknown as Api);
  list.push(authenticate(opts.accounts));
  return list;
}

/** Routes without an API key (provider webhooks): the same error shape, no authentication. */
export function publicMiddlewares(): Api[] {
  return [
    httpHeaderNormalizer() as Api,
    httpErrorHandler({ logger: false, fallbackMessage: errorBody('INTERNAL', 'internal error') }) as Api,
    errorShape(),
  ];
}

/** The raw body text (API Gateway base64-encodes some content types). */
export function bodyText(event: APIGatewayProxyEventV2): string {
  const raw = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}

/** For functions serving several methods: the JSON body of those that have one. */
export function jsonBodyOf(event: APIGatewayProxyEventV2): unknown {
  try {
    return JSON.parse(bodyText(event) || 'null');
  } catch {
    throw new QunfaError('INVALID_JSON', 'request body must be JSON');
  }
}

export function json(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

const errorBody = (code: string, message: string, field?: string) =>
  JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });

function authenticate(accounts: () => AccountStore): Api {
  return {
    before: async (request) => {
      const header = request.event.headers?.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const account = match?.[1] ? await accounts().authenticate(match[1]) : undefined;
      if (!account) throw unauthorized();
      request.context.account = account;
      logger.appendKeys({ accountId: account.accountId });
    },
  };
}

/** Turns any error into an exposed HTTP error with our body; runs before http-error-handler. */
function errorShape(): Api {
  return {
    onError: async (request) => {
      const e = request.error as (Error & { statusCode?: number; expose?: boolean }) | null;
      if (!e) return;
      let shaped: { status: number; body: string } | undefined;
      if (e instanceof QunfaError) {
        shaped = { status: e.status, body: errorBody(e.code, e.message, e.field) };
      } else if (e instanceof ZodError) {
        const issue = e.issues[0];
        const field = issue?.path.join('.') || undefined;
        const message = field ? `${field}: ${issue?.message}` : `request body: ${issue?.message ?? 'invalid'}`;
        shaped = { status: 400, body: errorBody('INVALID_REQUEST', message, field) };
      } else if (e.statusCode === 415 || e.statusCode === 422) {
        shaped = { status: 400, body: errorBody('INVALID_JSON', 'request body must be a JSON object') };
      } else {
        logger.error('unhandled error', e);
      }
      if (shaped) {
        request.error = Object.assign(new Error(shaped.body), { statusCode: shaped.status, expose: true });
      }
    },
  };
}
