import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { hashApiKey } from '../ids.js';
import type { Account } from '../model.js';

/**
 * Accounts table, one partition key `pk`:
 *   account#<accountId>   the account (name, balance, route)
 *   apikey#<sha256(key)>  one API key → its account; the key itself is never stored
 * Authentication is two strongly consistent GetItems, so a revoked key stops at once.
 */
const accountKey = (accountId: string) => ({ pk: `account#${accountId}` });
const apiKeyKey = (key: string) => ({ pk: `apikey#${hashApiKey(key)}` });

export interface AccountStore {
  get(accountId: string): Promise<Account | undefined>;
  authenticate(apiKey: string): Promise<Account | undefined>;
  /** Creates or replaces the account and registers the key for it. */
  put(account: Account, apiKey: string): Promise<void>;
}

export function accountStore(table = config.accountsTable): AccountStore {
  const db = dynamo();
  const get = async (accountId: string): Promise<Account | undefined> => {
    const r = await db.send(new GetCommand({ TableName: table, Key: accountKey(accountId), ConsistentRead: true }));
    if (!r.Item) return undefined;
    const { pk: _pk, ...account } = r.Item;
    return account as Account;
  };
  return {
    get,
    async authenticate(apiKey) {
      const r = await db.send(new GetCommand({ TableName: table, Key: apiKeyKey(apiKey), ConsistentRead: true }));
      const item = r.Item as { accountId?: string; revoked?: boolean } | undefined;
      if (!item?.accountId || item.revoked) return undefined;
      return get(item.accountId);
    },
    async put(account, apiKey) {
      await db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { ...accountKey(account.accountId), ...account } } },
            {
              Put: {
                TableName: table,
                Item: { ...apiKeyKey(apiKey), accountId: account.accountId, createTime: account.createTime },
              },
            },
          ],
        }),
      );
    },
  };
}
