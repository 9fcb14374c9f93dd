import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo } from '../aws.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * `failed` lists the items whose condition did not hold, with the item as it
 * was when the item asked for it (ReturnValuesOnConditionCheckFailure).
 */
export type TransactResult = { ok: true } | { ok: false; failed: { index: number; item?: Record<string, unknown> }[] };

const MAX_ATTEMPTS = 12;

/**
 * One all-or-nothing write. A conflict with another transaction on the same
 * item (a busy account's balance) says nothing about our conditions, so it is
 * retried with jittered back-off; a failed condition is returned to the caller,
 * which knows what each of its items meant.
 */
export async function transact(items: TransactItem[]): Promise<TransactResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: items }));
      return { ok: true };
    } catch (e) {
      const reasons = e instanceof TransactionCanceledException ? (e.CancellationReasons ?? []) : [];
      const failed = reasons.flatMap((r, index) =>
        r.Code === 'ConditionalCheckFailed' ? [{ index, ...(r.Item ? { item: unmarshall(r.Item) } : {}) }] : [],
      );
      if (failed.length > 0) return { ok: false, failed };
      const conflict =
        e instanceof TransactionConflictException ||
        reasons.some((r) => r.Code === 'TransactionConflict' || r.Code === 'ThrottlingError');
      if (!conflict || attempt + 1 >= MAX_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 7)));
    }
  }
}
