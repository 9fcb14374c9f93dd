import { planCallbacks } from './callbacks.js';
import { config } from './config.js';
import { reportDispatch } from './log.js';
import { dedupeWindowMs, getProvider } from './providers/index.js';
import { enqueueAll } from './queue.js';
import { accountStore, type AccountStore } from './stores/accounts.js';
import { ledgerStore, type LedgerStore } from './stores/ledger.js';
import { limitStore, type LimitStore } from './stores/limits.js';
import { contactStore, type ContactStore } from './stores/contacts.js';
import { messageStore, type MessageStore } from './stores/messages.js';
import { taskStore, type TaskStore } from './stores/tasks.js';
import { templateStore, type TemplateStore } from './stores/templates.js';
import { receiptStore, type ReceiptStore } from './stores/receipts.js';
import { replyStore, suppressionStore, type ReplyStore, type SuppressionStore } from './stores/replies.js';
import type { InboundEvent } from './providers/types.js';
import type { DispatchDeps } from './tasks/dispatch.js';
import type { SubmitDeps } from './tasks/submit.js';
import type { FanOutDeps } from './tasks/fanout.js';
import type { ContactDeps } from './contacts.js';

/**
 * The production dependencies of each use case, built from configuration once
 * per process. Tests build the same use cases with their own dependencies.
 */
let tasks: TaskStore | undefined;
let accounts: AccountStore | undefined;
let templates: TemplateStore | undefined;
let messages: MessageStore | undefined;
let receipts: ReceiptStore | undefined;
let replies: ReplyStore | undefined;
let suppressions: SuppressionStore | undefined;
let ledger: LedgerStore | undefined;
let limits: LimitStore | undefined;
let contacts: ContactStore | undefined;

export const wiring = {
  tasks: () => (tasks ??= taskStore()),
  accounts: () => (accounts ??= accountStore(undefined, wiring.ledger())),
  ledger: () => (ledger ??= ledgerStore()),
  limits: () => (limits ??= limitStore()),
  contacts: () => (contacts ??= contactStore()),
  templates: () => (templates ??= templateStore()),
  messages: () => (messages ??= messageStore()),
  enqueueFanOut: (taskIds: string[]) => enqueueAll(config.fanOutQueue, taskIds.map((taskId) => ({ taskId }))),
  enqueueChunks: (refs: { taskId: string; chunkNo: number }[]) => enqueueAll(config.dispatchQueue, refs),
  enqueueEvents: (events: InboundEvent[]) => enqueueAll(config.receiptsQueue, events),
  /** Receipts and replies onto the customer callbacks queue, grouped by destination. */
  notify: async (events: Parameters<typeof planCallbacks>[0]) => {
    const batches = await planCallbacks(events, { tasks: wiring.tasks(), accounts: wiring.accounts() });
    if (batches.length > 0) await enqueueAll(config.callbacksQueue, batches);
  },
  receipts: () => (receipts ??= receiptStore()),
  replies: () => (replies ??= replyStore()),
  suppressions: () => (suppressions ??= suppressionStore()),
  submit: (): SubmitDeps => ({
    tasks: wiring.tasks(),
    templates: wiring.templates(),
    suppressions: wiring.suppressions(),
    contacts: wiring.contacts(),
    ledger: wiring.ledger(),
    limits: wiring.limits(),
    enqueueFanOut: (taskId) => wiring.enqueueFanOut([taskId]),
  }),
  fanOut: (): FanOutDeps => ({
    tasks: wiring.tasks(),
    enqueueChunks: wiring.enqueueChunks,
    contacts: wiring.contacts(),
    suppressions: wiring.suppressions(),
    ledger: wiring.ledger(),
    enqueueFanOut: (taskId) => wiring.enqueueFanOut([taskId]),
  }),
  contactDeps: (): ContactDeps => ({
    contacts: wiring.contacts(),
    enqueuePurge: (accountId, listId) => enqueueAll(config.fanOutQueue, [{ purgeList: { accountId, listId } }]),
  }),
  dispatch: (): DispatchDeps => ({
    tasks: wiring.tasks(),
    messages: wiring.messages(),
    provider: getProvider,
    dedupeWindowMs,
    leaseMs: config.chunkLeaseMs,
    receipts: wiring.receipts(),
    ledger: wiring.ledger(),
    limits: wiring.limits(),
    suppressions: wiring.suppressions(),
    report: reportDispatch,
  }),
};
