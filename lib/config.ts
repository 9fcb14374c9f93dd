/**
 * Names of the deployed resources. serverless.yml sets these from the same
 * deterministic names it gives the resources, so the code never needs a !Ref.
 */
function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

export const config = {
  get tasksTable() { return required('QUNFA_TASKS_TABLE'); },
  get messagesTable() { return required('QUNFA_MESSAGES_TABLE'); },
  get accountsTable() { return required('QUNFA_ACCOUNTS_TABLE'); },
  get templatesTable() { return required('QUNFA_TEMPLATES_TABLE'); },
  get repliesTable() { return required('QUNFA_REPLIES_TABLE'); },
  get suppressionsTable() { return required('QUNFA_SUPPRESSIONS_TABLE'); },
  get ledgerTable() { return required('QUNFA_LEDGER_TABLE'); },
  get limitsTable() { return required('QUNFA_LIMITS_TABLE'); },
  get contactsTable() { return required('QUNFA_CONTACTS_TABLE'); },
  get fanOutQueue() { return required('QUNFA_FANOUT_QUEUE'); },
  get dispatchQueue() { return required('QUNFA_DISPATCH_QUEUE'); },
  get receiptsQueue() { return required('QUNFA_RECEIPTS_QUEUE'); },
  get callbacksQueue() { return required('QUNFA_CALLBACKS_QUEUE'); },
  /** First retry delay of a failed receipt or callback; doubles per attempt. */
  get retryBaseSeconds() { return Number(process.env.QUNFA_RETRY_BASE_SECONDS ?? 5); },
  /** How long a dispatcher owns a chunk in `sending`; must exceed the provider timeout. */
  get chunkLeaseMs() { return Number(process.env.QUNFA_CHUNK_LEASE_MS ?? 120_000); },
  get providerTimeoutMs() { return Number(process.env.QUNFA_PROVIDER_TIMEOUT_MS ?? 20_000); },
};
