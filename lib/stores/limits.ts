import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import type { AccountLimits } from '../model.js';
import { fromChinaTime } from '../time.js';
import { runPool } from './batch.js';

/**
 * Limits table (pk only; every item expires two days after its day):
 *   usage#<accountId>#<yyyy-MM-dd>          messages: recipients the account's tasks count against that China day
 *   number#<accountId>#<phone>#<yyyy-MM-dd> n, lastAt, lastTask: messages dispatched to one number that day
 * The usage item moves with the ledger (lib/stores/ledger.ts); the number items
 * are written by dispatch, one conditional update per recipient.
 */
export const usageKey = (accountId: string, day: string) => ({ pk: `usage#${accountId}#${day}` });
const numberKey = (accountId: string, phone: string, day: string) => ({ pk: `number#${accountId}#${phone}#${day}` });

/** Epoch seconds two days after the end of `day`, for TTL. */
export function usageExpiry(day: string): number {
  const start = fromChinaTime(`${day} 00:00:00`);
  return Math.floor((start ?? new Date()).getTime() / 1000) + 3 * 86_400;
}

export type NumberLimit = 'interval' | 'daily';

export interface LimitStore {
  /** Recipients counted against the account's daily cap on `day`. */
  usage(accountId: string, day: string): Promise<number>;
  /**
   * Counts one message to each number, unless that would break a limit.
   * Returns the numbers that must not be sent now and why. A number already
   * counted for this same task (a retried dispatch) passes again, uncounted.
   */
  takeNumbers(
    accountId: string,
    taskId: string,
    phones: readonly string[],
    limits: Pick<AccountLimits, 'perNumberIntervalSeconds' | 'perNumberDaily'>,
    now: Date,
    day: string,
  ): Promise<Map<string, NumberLimit>>;
}

/** Conditional updates in flight per dispatch: enough to hide DynamoDB's latency. */
const CONCURRENCY = 48;

export function limitStore(table = config.limitsTable): LimitStore {
  const db = dynamo();
  return {
    async usage(accountId, day) {
      const r = await db.send(new GetCommand({ TableName: table, Key: usageKey(accountId, day), ConsistentRead: true }));
      return Number(r.Item?.messages ?? 0);
    },

    async takeNumbers(accountId, taskId, phones, limits, now, day) {
      const refused = new Map<string, NumberLimit>();
      const { perNumberIntervalSeconds: interval, perNumberDaily: daily } = limits;
      if (interval <= 0 && daily <= 0) return refused;
      const checks: string[] = [];
      const values: Record<string, unknown> = { ':one': 1, ':now': now.getTime(), ':task': taskId, ':exp': usageExpiry(day) };
      if (daily > 0) { checks.push('n < :daily'); values[':daily'] = daily; }
      if (interval > 0) { checks.push('lastAt <= :since'); values[':since'] = now.getTime() - interval * 1000; }
      const condition = `attribute_not_exists(n) OR (${checks.join(' AND ')})`;
      await runPool(phones, CONCURRENCY, async (phone) => {
        try {
          await db.send(
            new UpdateCommand({
              TableName: table,
              Key: numberKey(accountId, phone, day),
              UpdateExpression: 'ADD n :one SET lastAt = :now, lastTask = :task, expiresAt = :exp',
              ConditionExpression: condition,
              ExpressionAttributeValues: values,
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
        } catch (e) {
          if (!(e instanceof ConditionalCheckFailedException)) throw e;
          const old = e.Item ? unmarshall(e.Item) : {};
          if (old.lastTask === taskId) return; // counted by an earlier run of this same dispatch
          refused.set(phone, daily > 0 && Number(old.n ?? 0) >= daily ? 'daily' : 'interval');
        }
      });
      return refused;
    },
  };
}
