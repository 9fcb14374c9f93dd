import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { bodyText } from '../http/api.js';

/**
 * The parameters of a vendor-style request, as the vendors take them: the
 * query string (GET), a form (x-www-form-urlencoded) or JSON whose values are
 * strings. Later sources win: body over query.
 */
export function vendorParams(event: APIGatewayProxyEventV2): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) out[k] = v;
  const text = bodyText(event);
  if (!text) return out;
  const type = event.headers?.['content-type'] ?? '';
  if (/json/i.test(type) || /^\s*\{/.test(text)) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return out;
    } catch {
      return out;
    }
  }
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}
