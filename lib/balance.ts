import { limitsOf, type Account, type AccountLimits } from './model.js';
import { PROVIDER_NAMES, type ProviderName } from './providers/index.js';
import type { BalanceResult, Provider } from './providers/types.js';
import type { LimitStore } from './stores/limits.js';
import { chinaDay } from './time.js';

/**
 * GET /v1/balance: the account's points (the vendors' remainPoint), its limits
 * and today's usage (China day), and for operator accounts each provider's
 * upstream balance from its balance API, or a per-provider error when the
 * vendor does not answer or has no such API.
 */
export interface BalanceView {
  accountId: string;
  balance: number;
  limits: AccountLimits;
  today: {
    day: string;
    /** Recipients of tasks sending today, less those refunded. */
    messages: number;
    /** What the daily cap still allows; null when there is no cap. */
    remaining: number | null;
  };
  providers?: Partial<Record<ProviderName, BalanceResult>>;
}

export interface BalanceDeps {
  provider(name: ProviderName): Promise<Provider>;
  limits: Pick<LimitStore, 'usage'>;
  now?: () => Date;
}

export async function getBalance(account: Account, deps: BalanceDeps): Promise<BalanceView> {
  const limits = limitsOf(account);
  const day = chinaDay(deps.now?.() ?? new Date());
  const [messages, providers] = await Promise.all([
    deps.limits.usage(account.accountId, day),
    account.operator ? providerBalances(deps.provider) : Promise.resolve(undefined),
  ]);
  return {
    accountId: account.accountId,
    balance: account.balance,
    limits,
    today: { day, messages, remaining: limits.dailyMessages > 0 ? Math.max(0, limits.dailyMessages - messages) : null },
    ...(providers ? { providers } : {}),
  };
}

async function providerBalances(provider: (name: ProviderName) => Promise<Provider>): Promise<Partial<Record<ProviderName, BalanceResult>>> {
  const entries = await Promise.all(
    PROVIDER_NAMES.map(async (name): Promise<[ProviderName, BalanceResult]> => {
      try {
        return [name, await (await provider(name)).balance()];
      } catch (e) {
        return [name, { kind: 'error', code: 'PROVIDER_NOT_CONFIGURED', message: (e as Error).message }];
      }
    }),
  );
  return Object.fromEntries(entries);
}
