import middy from '@middy/core';
import { logInfo } from '../lib/log.js';
import { releaseDueTasks } from '../lib/tasks/schedule.js';
import { wiring } from '../lib/wiring.js';

export const handler = middy().handler(async () => {
  const released = await releaseDueTasks({ tasks: wiring.tasks(), enqueueFanOut: wiring.enqueueFanOut });
  if (released.length > 0) logInfo('released due tasks', { count: released.length, taskIds: released.slice(0, 20) });
  return { released: released.length };
});
