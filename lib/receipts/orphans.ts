import type { InboundEvent } from '../providers/types.js';
import type { ReceiptStore } from '../stores/receipts.js';

/**
 * Orphans (receipts that outlived their retries before their message was
 * written) go back on the receipts queue every scheduler run until a message
 * write lets them land. Enqueued before they are deleted, so none is lost.
 */
export async function releaseOrphans(store: ReceiptStore, enqueue: (events: InboundEvent[]) => Promise<void>, limit = 500): Promise<number> {
  const orphans = await store.listOrphans(limit);
  if (orphans.length === 0) return 0;
  await enqueue(orphans.map((o) => o.receipt));
  await store.deleteOrphans(orphans.map((o) => o.key));
  return orphans.length;
}
