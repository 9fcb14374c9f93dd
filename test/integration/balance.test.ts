import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as getBalanceFn } from '../../functions/get-balance.js';
import type { ProviderName } from '../../lib/providers/index.js';
import type { Simulator } from '../../local/simulators/harness.js';
import { apiEvent, call, createAccount, startAllSimulators } from '../support/fixtures.js';

/** GET /v1/balance: points for everyone; upstream balances, with per-provider errors, for operators. */
let sims: Record<ProviderName, Simulator>;
beforeAll(async () => {
  sims = await startAllSimulators();
});
afterAll(async () => Promise.all(Object.values(sims).map((s) => s.stop())));

const balance = (apiKey: string) => call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance', apiKey }));

describe('GET /v1/balance', () => {
  it("answers the account's points, and no provider balances to a non-operator", async () => {
    const { apiKey, account } = await createAccount({ balance: 1234 });
    const res = await balance(apiKey);
    expect(res).toMatchObject({ status: 200, body: { accountId: account.accountId, balance: 1234 } });
    expect(res.body.providers).toBeUndefined();
  });

  it('gives an operator each provider balance, saying so where a vendor has none or does not answer', async () => {
    sims.submail.setBalance(9410);
    sims.zywx.setBalance(241);
    sims.zywx.setFault({ mode: 'http500' });
    const { apiKey } = await createAccount({ operator: true });
    const first = await balance(apiKey);
    expect(first.body.providers).toMatchObject({
      submail: { kind: 'balance', points: 9410 },
      sendcloud: { kind: 'unsupported', message: 'SendCloud documents no SMS balance API' },
      zywx: { kind: 'error', code: 'PROVIDER_BAD_ANSWER' },
    });
    expect((await balance(apiKey)).body.providers.zywx).toEqual({ kind: 'balance', points: 241 });
  });

  it('401 without a key', async () => {
    expect((await call(getBalanceFn, apiEvent({ method: 'GET', path: '/v1/balance' }))).status).toBe(401);
  });
});
