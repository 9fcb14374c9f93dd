import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { config } from '../config.js';
import { QunfaError } from '../errors.js';
import { accountKey } from './accounts.js';
import { usageKey, usageExpiry } from './limits.js';
import { transact, type TransactItem, type TransactResult } from './transact.js';

/**
 * Ledger table (pk, sk):
 *   pk=<accountId> sk=topup#<ulid>                 points added by the operator
 *   pk=<accountId> sk=charge#<taskId>              a task's fee, reserved when it is accepted
 *   pk=<accountId> sk=refund#<taskId>#chunk#000042 one chunk's rejected or canceled recipients
 *   pk=<accountId> sk=refund#<taskId>#cancel       a task canceled before it started
 * A movement is one transaction: the entry (which must not exist yet, so a
 * movement applies once whatever is retried), the account's balance and, for
 * charges and refunds, the day's usage (limits table). So the balance always
 * equals top-ups − charges + refunds, the sum of the account's entries.
 */
export type MovementKind = 'topup' | 'charge' | 'refund';

export interface Movement {
  accountId: string;
  kind: MovementKind;
  /** The entry's sort key: deterministic for charges and refunds. */
  entry: string;
  /** Always positive; the kind says which way it moves. */
  points: number;
  /** Messages added to (charge) or taken from (refund) the usage of `usageDay`. */
  messages?: number;
  usageDay?: string;
  taskId?: string;
  note?: string;
  time: string;
}

export interface LedgerEntry extends Omit<Movement, 'messages' | 'usageDay'> {
  /** Signed: what the movement did to the balance. */
  delta: number;
}

export const chargeEntry = (taskId: string) => `charge#${taskId}`;
export const chunkRefundEntry = (taskId: string, chunkNo: number) => `refund#${taskId}#chunk#${String(chunkNo).padStart(6, '0')}`;
export const cancelRefundEntry = (taskId: string) => `refund#${taskId}#cancel`;

export interface LedgerStore {
  /**
   * The transaction items of a movement, for callers that commit it together
   * with their own writes (a task, a settled chunk). A charge's items are, in
   * order: balance (fails when short), entry, usage (fails over `dailyMessages`).
   */
  items(m: Movement, dailyMessages?: number, opts?: { overdraft?: boolean }): TransactItem[];
  /** The entry alone, for an account created with an opening balance. */
  entryPut(m: Movement): TransactItem;
  /** Applies a movement on its own (a top-up). */
  apply(m: Movement): Promise<TransactResult>;
  entries(accountId: string): Promise<LedgerEntry[]>;
}

/** Explains why a charge's transaction failed, from the failed items' indexes in `items()` of the charge. */
export function chargeRefusal(failed: { index: number; item?: Record<string, unknown> }[], need: { points: number; messages: number; dailyMessages: number }): QunfaError {
  const at = (i: number) => failed.find((f) => f.index === i);
  const balance = at(0);
  if (balance) {
    const has = balance.item?.balance;
    if (has === undefined) return new QunfaError('ACCOUNT_NOT_FOUND', 'the account no longer exists', 403);
    return new QunfaError('INSUFFICIENT_BALANCE', `the task costs ${need.points} points and the account has ${String(has)} (余额不足)`, 402);
  }
  const usage = at(2);
  if (usage) {
    const used = Number(usage.item?.messages ?? 0);
    return new QunfaError(
      'DAILY_LIMIT_EXCEEDED',
      `the task has ${need.messages} recipients and the account has ${Math.max(0, need.dailyMessages - used)} of its ${need.dailyMessages} daily messages left (当日发送量已超出最大发送限制)`,
      429,
    );
  }
  return new QunfaError('CONFLICT', 'the task could not be recorded; retry', 409);
}

/** Moves a day's usage on its own (a list task's exact count, when its points moved the other way). */
export function usageAdjust(accountId: string, day: string, delta: number, limitsTable = config.limitsTable): TransactItem {
  return {
    Update: {
      TableName: limitsTable,
      Key: usageKey(accountId, day),
      UpdateExpression: 'ADD messages :n SET expiresAt = :exp',
      ExpressionAttributeValues: { ':n': delta, ':exp': usageExpiry(day) },
    },
  };
}

export function ledgerStore(table = config.ledgerTable, accountsTable = config.accountsTable, limitsTable = config.limitsTable): LedgerStore {
  const db = dynamo();
  const sign = (kind: MovementKind) => (kind === 'charge' ? -1 : 1);

  const entryPut = (m: Movement): TransactItem => ({
    Put: {
      TableName: table,
      Item: {
        pk: m.accountId,
        sk: m.entry,
        kind: m.kind,
        points: m.points,
        delta: sign(m.kind) * m.points,
        time: m.time,
        ...(m.taskId ? { taskId: m.taskId } : {}),
        ...(m.note ? { note: m.note } : {}),
      },
      ConditionExpression: 'attribute_not_exists(sk)',
    },
  });

  // `overdraft`: a charge for what was already committed to (list members that raced into a task) may not be refused.
  const items = (m: Movement, dailyMessages = 0, opts: { overdraft?: boolean } = {}): TransactItem[] => {
    if (!Number.isInteger(m.points) || m.points < 0) throw new Error(`points must be a non-negative integer, not ${m.points}`);
    const balance: TransactItem =
      m.kind === 'charge' && !opts.overdraft
        ? {
            Update: {
              TableName: accountsTable,
              Key: accountKey(m.accountId),
              UpdateExpression: 'SET balance = balance - :p',
              ConditionExpression: 'balance >= :p',
              ExpressionAttributeValues: { ':p': m.points },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          }
        : {
            Update: {
              TableName: accountsTable,
              Key: accountKey(m.accountId),
              UpdateExpression: 'ADD balance :p',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':p': m.kind === 'charge' ? -m.points : m.points },
            },
          };
    const out = [balance, entryPut(m)];
    if (m.usageDay && m.messages) {
      const n = m.kind === 'charge' ? m.messages : -m.messages;
      const capped = m.kind === 'charge' && dailyMessages > 0;
      out.push({
        Update: {
          TableName: limitsTable,
          Key: usageKey(m.accountId, m.usageDay),
          UpdateExpression: 'ADD messages :n SET expiresAt = :exp',
          ...(capped ? { ConditionExpression: 'attribute_not_exists(messages) OR messages <= :room', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
          ExpressionAttributeValues: { ':n': n, ':exp': usageExpiry(m.usageDay), ...(capped ? { ':room': dailyMessages - m.messages } : {}) },
        },
      });
    }
    return out;
  };

  return {
    items,
    entryPut,
    apply: (m) => transact(items(m)),
    async entries(accountId) {
      const out: LedgerEntry[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await db.send(
          new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :a', ExpressionAttributeValues: { ':a': accountId }, ConsistentRead: true, ExclusiveStartKey }),
        );
        for (const it of r.Items ?? []) {
          const { pk, sk, ...rest } = it as Record<string, unknown>;
          out.push({ ...(rest as Omit<LedgerEntry, 'accountId' | 'entry'>), accountId: String(pk), entry: String(sk) });
        }
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out.sort((a, b) => a.time.localeCompare(b.time) || a.entry.localeCompare(b.entry));
    },
  };
}
