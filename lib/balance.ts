import type { Account } from './model.js';
import { PROVIDER_NAMES, type ProviderName } from './providers/index.js';
import type { BalanceResult, Provider } from './providers/types.js';

/**
 * GET /v1/balance: the account's points (the vendors' remainPoint), and for
 * operator accounts each provider's upstream balance from its balance API, or
 * a per-provider error when the vendor does not answer or has no such API.
 */
export interface BalanceView {
  accountId: string;
  balance: number;
  providers?: Partial<Record<ProviderName, BalanceResult>>;
}

export async function getBalance(account: Account, provider: (name: ProviderName) => Promise<Provider>): Promise<BalanceView> {
  const view: BalanceView = { accountId: account.accountId, balance: account.balance };
  if (!account.operator) return view;
  const entries = await Promise.all(
    PROVIDER_NAMES.map(async (name): Promise<[ProviderName, BalanceResult]> => {
      try {
        return [name, await (await provider(name)).balance()];
      } catch (e) {
        return [name, { kind: 'error', code: 'PROVIDER_NOT_CONFIGURED', message: (e as Error).message }];
      }
    }),
  );
  return { ...view, providers: Object.fromEntries(entries) };
}
