import { QunfaError } from '../errors.js';
import { getProviderConfig, PROVIDER_NAMES, type ProviderName } from '../providers/index.js';
import type { InboundEvent, PushRequest } from '../providers/types.js';

/**
 * A vendor's push, verified and read by its adapter, then handed to the
 * receipts queue: the webhook acknowledges after one SQS request and never
 * does the work inline. A forged, stale or malformed push is refused with a
 * 4xx and stored nowhere.
 */
export async function ingestPush(
  provider: string,
  req: PushRequest,
  enqueue: (events: InboundEvent[]) => Promise<void>,
  now = new Date(),
): Promise<{ accepted: number }> {
  if (!PROVIDER_NAMES.includes(provider as ProviderName)) throw new QunfaError('NOT_FOUND', `no provider ${provider}`, 404);
  const { descriptor, config } = await getProviderConfig(provider as ProviderName);
  const result = descriptor.parsePush(config, req, now);
  if (!result.ok) throw new QunfaError(result.code, result.message, result.status);
  if (result.events.length > 0) await enqueue(result.events);
  return { accepted: result.events.length };
}
