import middy from '@middy/core';
import { logInfo } from '../lib/log.js';
import { releaseOrphans } from '../lib/receipts/orphans.js';
import { releaseDueTasks } from '../lib/tasks/schedule.js';
import { wiring } from '../lib/wiring.js';

/** Every minute: release due tasks, and feed orphaned receipts back to the processor. */
export const handler = middy().handler(async () => {
  const released = await releaseDueTasks({ tasks: wiring.tasks(), enqueueFanOut: wiring.enqueueFanOut });
  if (released.length > 0) logInfo('released due tasks', { count: released.length, taskIds: released.slice(0, 20) });
  const orphans = await releaseOrphans(wiring.receipts(), wiring.enqueueEvents);
  if (orphans > 0) logInfo('orphaned receipts requeued', { count: orphans });
  return { released: released.length, orphans };
});
