import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DispatchEvent } from './tasks/dispatch.js';

/** One structured logger for every function: task and account ids, never secrets or phone lists. */
export const logger = new Logger({ serviceName: 'qunfa' });
/** CloudWatch metrics (EMF) in namespace qunfa; flushed by each handler's logMetrics middleware. */
export const metrics = new Metrics({ namespace: 'qunfa', serviceName: 'qunfa' });

export const logInfo = (message: string, fields: Record<string, unknown>): void => logger.info(message, fields);

const COUNT_METRICS = { submitted: 'RecipientsSubmitted', rejected: 'RecipientsRejected', unknown: 'RecipientsUnknown' } as const;

export function reportDispatch(e: DispatchEvent): void {
  switch (e.kind) {
    case 'settled':
      logger.info('chunk settled', { ...e });
      for (const [status, name] of Object.entries(COUNT_METRICS)) {
        const n = e.counts[status as keyof typeof COUNT_METRICS] ?? 0;
        if (n > 0) metrics.addMetric(name, MetricUnit.Count, n);
      }
      break;
    case 'recovered':
      logger.warn('abandoned chunk recovered; unrecorded recipients are unknown, not resent', { ...e });
      metrics.addMetric('ChunksRecovered', MetricUnit.Count, 1);
      metrics.addMetric('RecipientsUnknown', MetricUnit.Count, e.unknown);
      break;
    case 'failover':
      logger.warn('provider refused the whole chunk; trying the next provider of the route', { ...e });
      metrics.addMetric('ProviderFailovers', MetricUnit.Count, 1);
      break;
    case 'resent':
      logger.warn('interrupted chunk resent under the same idempotency key; the vendor drops a duplicate', { ...e });
      metrics.addMetric('ChunksResentIdempotently', MetricUnit.Count, 1);
      break;
    case 'lost-lease':
      logger.error('chunk was recovered by another dispatcher while its send completed; counted as unknown', { ...e });
      metrics.addMetric('ChunksLostLease', MetricUnit.Count, 1);
      break;
  }
}

export function reportReceipts(e: { moved: number; duplicates: number; orphaned: number; retried: number; recovered: number; tasks: number }): void {
  logger.info('receipt batch processed', { ...e });
  metrics.addMetric('ReceiptsApplied', MetricUnit.Count, e.moved + e.recovered);
  if (e.duplicates) metrics.addMetric('ReceiptsDuplicate', MetricUnit.Count, e.duplicates);
  if (e.orphaned) metrics.addMetric('ReceiptsOrphaned', MetricUnit.Count, e.orphaned);
}
