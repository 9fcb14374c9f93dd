import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { QunfaError } from '../errors.js';
import type { Template } from '../templates.js';

/**
 * Templates table: pk=<accountId>, sk=<templateId>. The account is the
 * partition, so one account can never address another's template.
 */
export interface TemplateStore {
  get(accountId: string, templateId: string): Promise<Template | undefined>;
  create(template: Template): Promise<void>;
  /** Replaces an existing template. */
  put(template: Template): Promise<void>;
  delete(accountId: string, templateId: string): Promise<boolean>;
  list(accountId: string): Promise<Template[]>;
}

export function templateStore(table = config.templatesTable): TemplateStore {
  const db = dynamo();
  return {
    async get(accountId, templateId) {
      const r = await db.send(new GetCommand({ TableName: table, Key: { pk: accountId, sk: templateId }, ConsistentRead: true }));
      if (!r.Item) return undefined;
      const { pk: _pk, sk: _sk, ...t } = r.Item;
      return t as Template;
    },
    async put(t) {
      await db.send(new PutCommand({ TableName: table, Item: { pk: t.accountId, sk: t.templateId, ...t }, ConditionExpression: 'attribute_exists(pk)' }));
    },
    async delete(accountId, templateId) {
      const r = await db.send(new DeleteCommand({ TableName: table, Key: { pk: accountId, sk: templateId }, ReturnValues: 'ALL_OLD' }));
      return r.Attributes !== undefined;
    },
    async list(accountId) {
      const out: Template[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await db.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :a', ExpressionAttributeValues: { ':a': accountId }, ExclusiveStartKey }));
        out.push(...(r.Items ?? []).map(({ pk: _pk, sk: _sk, ...t }) => t as Template));
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out;
    },
    async create(t) {
      try {
        await db.send(
          new PutCommand({ TableName: table, Item: { pk: t.accountId, sk: t.templateId, ...t }, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) {
          throw new QunfaError('TEMPLATE_EXISTS', `template ${t.templateId} already exists`, 409, 'templateId');
        }
        throw e;
      }
    },
  };
}
