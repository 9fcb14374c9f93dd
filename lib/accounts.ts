import { z } from 'zod';
import { badRequest, notFound, QunfaError } from './errors.js';
import { newApiKey, ulid } from './ids.js';
import { limitsOf, type Account, type AccountLimits } from './model.js';
import { PROVIDER_NAMES, type ProviderName } from './providers/index.js';
import type { AccountChanges, AccountStore } from './stores/accounts.js';
import type { LedgerEntry, LedgerStore } from './stores/ledger.js';

/**
 * The operator's account management (the `qunfa accounts` CLI). No HTTP route
 * reaches these: creating accounts and adding points needs the deployment's
 * own AWS credentials.
 */
export interface AdminDeps {
  accounts: AccountStore;
  ledger: LedgerStore;
  now?: () => Date;
}

const providerName = z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]);
const limitValue = z.number().int().min(0);

export const accountInput = z.object({
  accountId: z.string().regex(/^[a-z0-9][a-z0-9_-]{1,31}$/, 'lowercase letters, digits, _ and -, 2–32 characters'),
  name: z.string().min(1).max(64).optional(),
  route: z.array(providerName).min(1).default(['submail']),
  balance: z.number().int().min(0).default(0),
  callbackUrl: z.string().url().optional(),
  operator: z.boolean().optional(),
  vendorPushes: z.boolean().optional(),
  limits: z
    .object({ perNumberIntervalSeconds: limitValue, perNumberDaily: limitValue, dailyMessages: limitValue })
    .partial()
    .optional(),
});
export type AccountInput = z.input<typeof accountInput>;

export const accountChanges = accountInput.omit({ accountId: true, balance: true }).partial().extend({ callbackSecret: z.string().min(16).optional() });

export interface IssuedKey {
  accountId: string;
  keyId: string;
  /** Shown once: only its hash is stored. */
  apiKey: string;
}

const newKeyId = () => `key_${ulid().slice(-8).toLowerCase()}`;
const newCallbackSecret = () => `cbs_${newApiKey().slice(3)}`;
const newCompatKey = () => `ck${newApiKey().slice(3, 33)}`;

/** A new secret for the vendor-compatible routes; the old one stops working at once. */
export async function rotateCompatKey(accountId: string, deps: AdminDeps): Promise<{ accountId: string; compatKey: string }> {
  const compatKey = newCompatKey();
  if (!(await deps.accounts.update(accountId, { compatKey }))) throw notFound(`account ${accountId}`);
  return { accountId, compatKey };
}

/** Parses at the edge (CLI flags, test fixtures); a clear error names the field. */
function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw badRequest('INVALID_ACCOUNT', `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`, field || undefined);
}

export async function createAccount(input: AccountInput, deps: AdminDeps, apiKey = newApiKey()): Promise<IssuedKey & { account: Account }> {
  const a = parse(accountInput, input);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const keyId = newKeyId();
  const account: Account = {
    accountId: a.accountId,
    name: a.name ?? a.accountId,
    balance: a.balance,
    route: [...new Set(a.route)],
    createTime: now,
    callbackSecret: newCallbackSecret(),
    compatKey: newCompatKey(),
    ...(a.callbackUrl ? { callbackUrl: a.callbackUrl } : {}),
    ...(a.operator ? { operator: true } : {}),
    ...(a.vendorPushes ? { vendorPushes: true } : {}),
    ...(a.limits ? { limits: a.limits } : {}),
  };
  const opening = { accountId: a.accountId, kind: 'topup' as const, entry: `topup#${ulid()}`, points: a.balance, note: 'opening balance', time: now };
  if (!(await deps.accounts.create(account, apiKey, keyId, opening))) {
    throw new QunfaError('ACCOUNT_EXISTS', `account ${a.accountId} already exists`, 409);
  }
  return { account: await mustGet(a.accountId, deps), accountId: a.accountId, keyId, apiKey };
}

export async function updateAccount(accountId: string, changes: unknown, deps: AdminDeps): Promise<Account> {
  const c: AccountChanges = parse(accountChanges, changes);
  if (c.limits) c.limits = { ...(await mustGet(accountId, deps)).limits, ...c.limits };
  if (!(await deps.accounts.update(accountId, c))) throw notFound(`account ${accountId}`);
  return mustGet(accountId, deps);
}

/**
 * Issues a new key. Unless `keepOld`, every other key is revoked at once;
 * keep them to roll the new key out first, then `revoke-key` the old one.
 */
export async function rotateKey(accountId: string, deps: AdminDeps, opts: { keepOld?: boolean } = {}): Promise<IssuedKey & { revoked: string[] }> {
  const account = await mustGet(accountId, deps);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const apiKey = newApiKey();
  const keyId = newKeyId();
  if (!(await deps.accounts.addKey(accountId, apiKey, keyId, now))) throw notFound(`account ${accountId}`);
  const revoked: string[] = [];
  if (!opts.keepOld) {
    for (const [id, info] of Object.entries(account.keys ?? {})) {
      if (!info.revokeTime && (await deps.accounts.revokeKey(accountId, id, now))) revoked.push(id);
    }
  }
  return { accountId, keyId, apiKey, revoked };
}

export async function revokeKey(accountId: string, keyId: string, deps: AdminDeps): Promise<void> {
  const account = await mustGet(accountId, deps);
  const now = (deps.now?.() ?? new Date()).toISOString();
  if (!(await deps.accounts.revokeKey(accountId, keyId, now))) {
    const known = account.keys?.[keyId];
    throw new QunfaError(known ? 'KEY_ALREADY_REVOKED' : 'KEY_NOT_FOUND', known ? `key ${keyId} was revoked at ${known.revokeTime}` : `account ${accountId} has no key ${keyId}`, 404);
  }
}

export async function topUp(accountId: string, points: number, deps: AdminDeps, note?: string): Promise<{ balance: number; entry: string }> {
  if (!Number.isInteger(points) || points <= 0) throw badRequest('INVALID_POINTS', 'points must be a positive whole number', 'points');
  const entry = `topup#${ulid()}`;
  const r = await deps.ledger.apply({ accountId, kind: 'topup', entry, points, time: (deps.now?.() ?? new Date()).toISOString(), ...(note ? { note } : {}) });
  if (!r.ok) throw notFound(`account ${accountId}`);
  return { balance: (await mustGet(accountId, deps)).balance, entry };
}

export interface AccountSummary {
  accountId: string;
  name: string;
  balance: number;
  route: ProviderName[];
  limits: AccountLimits;
  operator: boolean;
  keys: { keyId: string; createTime: string; revokeTime?: string }[];
  createTime: string;
}

export const summarize = (a: Account): AccountSummary => ({
  accountId: a.accountId,
  name: a.name,
  balance: a.balance,
  route: a.route,
  limits: limitsOf(a),
  operator: a.operator === true,
  keys: Object.entries(a.keys ?? {}).map(([keyId, k]) => ({ keyId, createTime: k.createTime, ...(k.revokeTime ? { revokeTime: k.revokeTime } : {}) })),
  createTime: a.createTime,
});

export async function listAccounts(deps: AdminDeps): Promise<AccountSummary[]> {
  return (await deps.accounts.list()).map(summarize);
}

export async function ledgerOf(accountId: string, deps: AdminDeps): Promise<{ balance: number; sum: number; entries: LedgerEntry[] }> {
  const account = await mustGet(accountId, deps);
  const entries = await deps.ledger.entries(accountId);
  return { balance: account.balance, sum: entries.reduce((n, e) => n + e.delta, 0), entries };
}

async function mustGet(accountId: string, deps: AdminDeps): Promise<Account> {
  const a = await deps.accounts.get(accountId);
  if (!a) throw notFound(`account ${accountId}`);
  return a;
}
