import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { hashApiKey } from '../ids.js';
import type { Account } from '../model.js';
import type { LedgerStore, Movement } from './ledger.js';
import { transact, type TransactItem } from './transact.js';

/**
 * Accounts table, one partition key `pk`:
 *   account#<accountId>   the account: name, balance, limits, route, callback, keys (keyId → hash)
 *   apikey#<sha256(key)>  one API key → its account; the key itself is never stored
 * Authentication is two strongly consistent GetItems, so a revoked key stops at
 * once. The balance is never written here directly: only ledger movements
 * (lib/stores/ledger.ts) change it.
 */
export const accountKey = (accountId: string) => ({ pk: `account#${accountId}` });
const apiKeyItemKey = (hash: string) => ({ pk: `apikey#${hash}` });

/** What may change on an existing account (never its balance or keys). */
export type AccountChanges = Partial<Pick<Account, 'name' | 'route' | 'callbackUrl' | 'callbackSecret' | 'operator' | 'limits' | 'compatKey' | 'vendorPushes'>>;

export interface AccountStore {
  get(accountId: string): Promise<Account | undefined>;
  authenticate(apiKey: string): Promise<Account | undefined>;
  /**
   * Creates the account with its first key; an opening balance is recorded as
   * a top-up. False when the id is taken.
   */
  create(account: Account, apiKey: string, keyId: string, opening?: Movement): Promise<boolean>;
  list(): Promise<Account[]>;
  update(accountId: string, changes: AccountChanges): Promise<boolean>;
  addKey(accountId: string, apiKey: string, keyId: string, now: string): Promise<boolean>;
  /** Revokes one key; false when the account has no such live key. */
  revokeKey(accountId: string, keyId: string, now: string): Promise<boolean>;
}

const fromItem = (item: Record<string, unknown>): Account => {
  const { pk: _pk, ...account } = item;
  return account as unknown as Account;
};

export function accountStore(table = config.accountsTable, ledger?: Pick<LedgerStore, 'entryPut'>): AccountStore {
  const db = dynamo();
  const get = async (accountId: string): Promise<Account | undefined> => {
    const r = await db.send(new GetCommand({ TableName: table, Key: accountKey(accountId), ConsistentRead: true }));
    return r.Item ? fromItem(r.Item) : undefined;
  };
  const keyPut = (accountId: string, hash: string, keyId: string, now: string): TransactItem => ({
    Put: { TableName: table, Item: { ...apiKeyItemKey(hash), accountId, keyId, createTime: now }, ConditionExpression: 'attribute_not_exists(pk)' },
  });

  return {
    get,

    async authenticate(apiKey) {
      const r = await db.send(new GetCommand({ TableName: table, Key: apiKeyItemKey(hashApiKey(apiKey)), ConsistentRead: true }));
      const item = r.Item as { accountId?: string; revokeTime?: string } | undefined;
      if (!item?.accountId || item.revokeTime) return undefined;
      return get(item.accountId);
    },

    async create(account, apiKey, keyId, opening) {
      const hash = hashApiKey(apiKey);
      const items: TransactItem[] = [
        {
          Put: {
            TableName: table,
            Item: { ...accountKey(account.accountId), ...account, keys: { [keyId]: { hash, createTime: account.createTime } } },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        keyPut(account.accountId, hash, keyId, account.createTime),
      ];
      if (opening && opening.points > 0) {
        if (!ledger) throw new Error('an opening balance needs the ledger');
        items.push(ledger.entryPut(opening));
      }
      const r = await transact(items);
      return r.ok;
    },

    async list() {
      const out: Account[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new ScanCommand({ TableName: table, FilterExpression: 'begins_with(pk, :a)', ExpressionAttributeValues: { ':a': 'account#' }, ExclusiveStartKey }),
        );
        out.push(...(r.Items ?? []).map(fromItem));
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out.sort((a, b) => a.accountId.localeCompare(b.accountId));
    },

    async update(accountId, changes) {
      const sets: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) continue;
        names[`#${k}`] = k;
        values[`:${k}`] = v;
        sets.push(`#${k} = :${k}`);
      }
      if (sets.length === 0) return true;
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: accountKey(accountId),
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
      ]);
      return r.ok;
    },

    async addKey(accountId, apiKey, keyId, now) {
      const hash = hashApiKey(apiKey);
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: accountKey(accountId),
            UpdateExpression: 'SET #keys.#id = :info',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#keys': 'keys', '#id': keyId },
            ExpressionAttributeValues: { ':info': { hash, createTime: now } },
          },
        },
        keyPut(accountId, hash, keyId, now),
      ]);
      return r.ok;
    },

    async revokeKey(accountId, keyId, now) {
      const account = await get(accountId);
      const info = account?.keys?.[keyId];
      if (!info || info.revokeTime) return false;
      const r = await transact([
        {
          Update: {
            TableName: table,
            Key: accountKey(accountId),
            UpdateExpression: 'SET #keys.#id.revokeTime = :now',
            ConditionExpression: 'attribute_not_exists(#keys.#id.revokeTime)',
            ExpressionAttributeNames: { '#keys': 'keys', '#id': keyId },
            ExpressionAttributeValues: { ':now': now },
          },
        },
        {
          Update: {
            TableName: table,
            Key: apiKeyItemKey(info.hash),
            UpdateExpression: 'SET revokeTime = :now',
            ConditionExpression: 'accountId = :a',
            ExpressionAttributeValues: { ':now': now, ':a': accountId },
          },
        },
      ]);
      return r.ok;
    },
  };
}
