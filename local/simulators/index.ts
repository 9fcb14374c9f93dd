import { randomBytes } from 'node:crypto';
import type { ProviderName } from '../../lib/providers/index.js';
import type { Simulator, SimulatorOptions } from './harness.js';
import { startSendcloudSimulator } from './sendcloud.js';
import { startSubmailSimulator } from './submail.js';
import { startZywxSimulator } from './zywx.js';

/**
 * One simulator per provider, with the local credentials and the matching
 * entry of the providers configuration. A fourth vendor adds one line here.
 */
export interface RunningSimulator {
  sim: Simulator;
  /** This provider's entry of QUNFA_PROVIDERS_JSON, pointing at the simulator. */
  config: Record<string, string>;
  /** Where qunfa receives this vendor's pushes, below the API base URL. */
  hookPath: string;
}

const LOCAL_SENDCLOUD_TEMPLATES = { '10001': { text: '【示例】您的验证码是%code%，10分钟内有效', approved: true } };
const LOCAL_SUBMAIL_PROJECTS = { ThJBE4: '【示例】您的验证码是@var(code)，10分钟内有效' };

export const SIMULATORS: Record<ProviderName, (o: SimulatorOptions) => Promise<RunningSimulator>> = {
  submail: async (o) => {
    const cred = { appid: 'qunfa-local', appkey: 'local-submail-appkey-0123456789ab' };
    const subhookKey = randomBytes(16).toString('hex');
    const sim = await startSubmailSimulator({ ...o, ...cred, subhookKey, projects: LOCAL_SUBMAIL_PROJECTS });
    return { sim, config: { baseUrl: sim.url, ...cred, signType: 'md5', subhookKey }, hookPath: '/v1/hooks/submail' };
  },
  sendcloud: async (o) => {
    const cred = { smsUser: 'qunfa_local', smsKey: 'local-sendcloud-smskey-0123456789' };
    const hookKey = randomBytes(16).toString('hex');
    const sim = await startSendcloudSimulator({ ...o, ...cred, hookKey, templates: LOCAL_SENDCLOUD_TEMPLATES });
    return { sim, config: { baseUrl: sim.url, ...cred, digest: 'sha256', hookKey }, hookPath: '/v1/hooks/sendcloud' };
  },
  zywx: async (o) => {
    const cred = { appId: '6VCME4WQVW16', appKey: '95HV86WP22263HWD' };
    const hookSecret = randomBytes(24).toString('base64url');
    const sim = await startZywxSimulator({ ...o, ...cred });
    return { sim, config: { baseUrl: sim.url, ...cred, hookSecret }, hookPath: `/v1/hooks/zywx/${hookSecret}` };
  },
};

/** Every vendor's simulator, and the providers configuration (QUNFA_PROVIDERS_JSON) that points at them. */
export async function startSimulators(opts: SimulatorOptions = {}): Promise<{
  sims: Record<ProviderName, Simulator>;
  config: Record<ProviderName, Record<string, string>>;
  hookPaths: Record<ProviderName, string>;
}> {
  const sims = {} as Record<ProviderName, Simulator>;
  const config = {} as Record<ProviderName, Record<string, string>>;
  const hookPaths = {} as Record<ProviderName, string>;
  for (const name of Object.keys(SIMULATORS) as ProviderName[]) {
    const s = await SIMULATORS[name](opts);
    sims[name] = s.sim;
    config[name] = s.config;
    hookPaths[name] = s.hookPath;
  }
  return { sims, config, hookPaths };
}
