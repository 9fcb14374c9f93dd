import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../config.js';
import { SUBMAIL_BATCH_LIMIT, submail, type SubmailConfig } from './submail.js';
import type { Provider, ProviderName } from './types.js';

/**
 * Provider credentials and base URLs: from QUNFA_PROVIDERS_JSON (local runs,
 * tests) or from the SecureString SSM parameter named by QUNFA_PROVIDERS_PARAM
 * (deployed stages), read once per cold start. Never logged.
 */
export interface ProvidersConfig {
  submail?: SubmailConfig;
}

const factories: { [K in ProviderName]: (cfg: NonNullable<ProvidersConfig[K]>, timeoutMs: number) => Provider } = {
  submail,
};

let loaded: Promise<ProvidersConfig> | undefined;

async function loadConfig(): Promise<ProvidersConfig> {
  const inline = process.env.QUNFA_PROVIDERS_JSON;
  if (inline) return JSON.parse(inline) as ProvidersConfig;
  const name = process.env.QUNFA_PROVIDERS_PARAM;
  if (!name) throw new Error('neither QUNFA_PROVIDERS_JSON nor QUNFA_PROVIDERS_PARAM is set');
  const r = await new SSMClient({}).send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  return JSON.parse(r.Parameter?.Value ?? '{}') as ProvidersConfig;
}

export async function getProvider(name: ProviderName): Promise<Provider> {
  loaded ??= loadConfig();
  loaded.catch(() => { loaded = undefined; });
  const cfg = (await loaded)[name];
  if (!cfg) throw new Error(`provider ${name} is not configured`);
  return factories[name](cfg, config.providerTimeoutMs);
}

/** Batch limits are a property of the adapter, known without credentials. */
export const BATCH_LIMITS: Record<ProviderName, number> = { submail: SUBMAIL_BATCH_LIMIT };

/** Chunks must fit every provider the route may fail over to. */
export function chunkSizeFor(route: readonly ProviderName[]): number {
  return Math.min(...route.map((p) => BATCH_LIMITS[p]));
}
