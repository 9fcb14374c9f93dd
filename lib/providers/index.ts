import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../config.js';
import { PROVIDERS, type ProviderName } from './registry.js';
import type { Provider, ProviderDescriptor } from './types.js';

/**
 * Provider credentials and base URLs: from QUNFA_PROVIDERS_JSON (local runs,
 * tests) or from the SecureString SSM parameter named by QUNFA_PROVIDERS_PARAM
 * (deployed stages), read once per cold start. Never logged.
 * Shape: { "submail": {…}, "sendcloud": {…}, "zywx": {…} }, each checked by its adapter.
 */
let fromSsm: Promise<Record<string, unknown>> | undefined;

async function providersConfig(): Promise<Record<string, unknown>> {
  // Local runs and tests: read as set, so a test may point at a fresh simulator.
  const inline = process.env.QUNFA_PROVIDERS_JSON;
  if (inline) return JSON.parse(inline) as Record<string, unknown>;
  const name = process.env.QUNFA_PROVIDERS_PARAM;
  if (!name) throw new Error('neither QUNFA_PROVIDERS_JSON nor QUNFA_PROVIDERS_PARAM is set');
  fromSsm ??= new SSMClient({})
    .send(new GetParameterCommand({ Name: name, WithDecryption: true }))
    .then((r) => JSON.parse(r.Parameter?.Value ?? '{}') as Record<string, unknown>);
  fromSsm.catch(() => (fromSsm = undefined));
  return fromSsm;
}

export async function getProviderConfig(name: ProviderName): Promise<{ descriptor: ProviderDescriptor<unknown>; config: unknown }> {
  const raw = (await providersConfig())[name];
  if (!raw) throw new Error(`provider ${name} is not configured`);
  const descriptor = PROVIDERS[name] as ProviderDescriptor<unknown>;
  return { descriptor, config: descriptor.parseConfig(raw) };
}

export async function getProvider(name: ProviderName): Promise<Provider> {
  const { descriptor, config: cfg } = await getProviderConfig(name);
  return descriptor.create(cfg, config.providerTimeoutMs);
}

/** Chunks must fit every provider the route may fail over to. */
export function chunkSizeFor(route: readonly ProviderName[]): number {
  return Math.min(...route.map((p) => PROVIDERS[p].batchLimit));
}

export const requiresTemplate = (name: ProviderName): boolean => PROVIDERS[name].requiresTemplate;
/** Recipients per request with per-recipient values, or 0 when the vendor cannot take them. */
export const multiLimitOf = (name: ProviderName): number => (PROVIDERS[name] as ProviderDescriptor<unknown>).multiLimit ?? 0;
export const dedupeWindowMs = (name: ProviderName): number => (PROVIDERS[name] as ProviderDescriptor<unknown>).dedupeWindowMs ?? 0;
export { PROVIDER_NAMES, type ProviderName } from './registry.js';
