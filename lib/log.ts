import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger for every function: task and account ids, never secrets or phone lists. */
export const logger = new Logger({ serviceName: 'qunfa' });

export const logInfo = (message: string, fields: Record<string, unknown>): void => logger.info(message, fields);
