import { sendcloud } from './sendcloud.js';
import { submail } from './submail.js';
import { zywx } from './zywx.js';

/**
 * Every vendor qunfa can send through, by the name routes use. A fourth
 * vendor is one adapter file and one line here.
 */
export const PROVIDERS = { submail, sendcloud, zywx } as const;
export type ProviderName = keyof typeof PROVIDERS;
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];
