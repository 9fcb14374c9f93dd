import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { batchDelete, batchGet, batchPut } from './batch.js';
import { transact } from './transact.js';

/**
 * Contacts table (pk, sk):
 *   pk=<accountId>           sk=list#<name>  a contact list: listId, description, memberCount
 *   pk=<accountId>#<listId>  sk=<phone>      one member: name, vars, addedAt
 * Members hang off the list's id, not its name: deleting a list removes its
 * one meta item at once (the name is free again) and its members are purged
 * in the background. Members are sorted by phone, so several lists can be
 * merged and de-duplicated in one pass without holding them in memory.
 */
export interface ContactList {
  accountId: string;
  listId: string;
  name: string;
  description?: string;
  /** Exact after each import or removal, unless two imports of the same numbers race. */
  memberCount: number;
  createTime: string;
  updateTime: string;
}

export interface Member {
  phone: string;
  name?: string;
  vars?: Record<string, string>;
  /** When the number joined the list: a task sends to the members it had when accepted. */
  addedAt: string;
}

const listSk = (name: string) => `list#${name}`;
const membersPk = (accountId: string, listId: string) => `${accountId}#${listId}`;

export interface ContactStore {
  createList(list: ContactList): Promise<boolean>;
  getList(accountId: string, name: string): Promise<ContactList | undefined>;
  lists(accountId: string): Promise<ContactList[]>;
  /** Gives the list a new name (its members stay with its id); false when the new name is taken. */
  renameList(list: ContactList, name: string): Promise<boolean>;
  /** Removes the list itself; its members are left for `purge`. */
  deleteList(accountId: string, name: string): Promise<ContactList | undefined>;
  /** Adds or replaces members; answers how many were new. */
  putMembers(list: ContactList, members: readonly Member[]): Promise<{ added: number; updated: number }>;
  removeMembers(list: ContactList, phones: readonly string[]): Promise<number>;
  page(accountId: string, listId: string, opts: { limit: number; after?: string }): Promise<{ members: Member[]; next?: string }>;
  /** Deletes up to `limit` members of a deleted list; true when none is left. */
  purge(accountId: string, listId: string, limit: number): Promise<boolean>;
}

export function contactStore(table = config.contactsTable): ContactStore {
  const db = dynamo();
  const fromList = (item: Record<string, unknown>): ContactList => {
    const { pk: _pk, sk: _sk, ...rest } = item;
    return rest as unknown as ContactList;
  };
  const count = (list: ContactList, delta: number) =>
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: list.accountId, sk: listSk(list.name) },
        UpdateExpression: 'ADD memberCount :d SET updateTime = :now',
        // The list may have been deleted (and re-created) meanwhile: never resurrect it.
        ConditionExpression: 'listId = :id',
        ExpressionAttributeValues: { ':d': delta, ':now': new Date().toISOString(), ':id': list.listId },
      }),
    ).catch((e: unknown) => {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    });

  return {
    async createList(list) {
      try {
        await db.send(new PutCommand({ TableName: table, Item: { pk: list.accountId, sk: listSk(list.name), ...list }, ConditionExpression: 'attribute_not_exists(pk)' }));
        return true;
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return false;
        throw e;
      }
    },

    async getList(accountId, name) {
      const r = await db.send(new GetCommand({ TableName: table, Key: { pk: accountId, sk: listSk(name) }, ConsistentRead: true }));
      return r.Item ? fromList(r.Item) : undefined;
    },

    async lists(accountId) {
      const out: ContactList[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :a AND begins_with(sk, :l)', ExpressionAttributeValues: { ':a': accountId, ':l': 'list#' }, ExclusiveStartKey }),
        );
        out.push(...(r.Items ?? []).map(fromList));
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out;
    },

    async renameList(list, name) {
      const r = await transact([
        { Put: { TableName: table, Item: { pk: list.accountId, sk: listSk(name), ...list, name, updateTime: new Date().toISOString() }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Delete: { TableName: table, Key: { pk: list.accountId, sk: listSk(list.name) }, ConditionExpression: 'listId = :id', ExpressionAttributeValues: { ':id': list.listId } } },
      ]);
      return r.ok;
    },

    async deleteList(accountId, name) {
      const r = await db.send(new DeleteCommand({ TableName: table, Key: { pk: accountId, sk: listSk(name) }, ReturnValues: 'ALL_OLD' }));
      return r.Attributes ? fromList(r.Attributes) : undefined;
    },

    async putMembers(list, members) {
      const pk = membersPk(list.accountId, list.listId);
      const existing = await batchGet(table, members.map((m) => ({ pk, sk: m.phone })));
      const had = new Map(existing.map((it) => [String(it.sk), String(it.addedAt)]));
      // An updated member keeps the time it joined: tasks accepted before still include it.
      await batchPut(table, members.map((m) => ({ pk, sk: m.phone, ...m, addedAt: had.get(m.phone) ?? m.addedAt })));
      const added = members.length - had.size;
      if (added > 0) await count(list, added);
      return { added, updated: had.size };
    },

    async removeMembers(list, phones) {
      const pk = membersPk(list.accountId, list.listId);
      const existing = await batchGet(table, phones.map((p) => ({ pk, sk: p })));
      await batchDelete(table, existing.map((it) => ({ pk, sk: String(it.sk) })));
      if (existing.length > 0) await count(list, -existing.length);
      return existing.length;
    },

    async page(accountId, listId, { limit, after }) {
      const pk = membersPk(accountId, listId);
      const r = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: after ? 'pk = :p AND sk > :after' : 'pk = :p',
          ExpressionAttributeValues: { ':p': pk, ...(after ? { ':after': after } : {}) },
          Limit: limit,
          ConsistentRead: true,
        }),
      );
      const members = (r.Items ?? []).map(({ pk: _p, sk, ...rest }) => ({ ...(rest as Omit<Member, 'phone'>), phone: String(sk) }));
      const next = r.LastEvaluatedKey ? String(r.LastEvaluatedKey.sk) : undefined;
      return { members, ...(next ? { next } : {}) };
    },

    async purge(accountId, listId, limit) {
      const pk = membersPk(accountId, listId);
      const r = await db.send(
        new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk }, ProjectionExpression: 'pk, sk', Limit: limit }),
      );
      await batchDelete(table, (r.Items ?? []).map((it) => ({ pk, sk: String(it.sk) })));
      return !r.LastEvaluatedKey;
    },
  };
}
