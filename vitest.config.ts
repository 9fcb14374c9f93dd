import { defineConfig } from 'vitest/config';
import { freePort } from './local/stack.js';

// Endpoints must be on process.env before globalSetup runs and before workers
// start (test.env does not reach globalSetup); the stack is started on these ports.
process.env.QUNFA_TEST_DDB_PORT ??= String(await freePort());
process.env.QUNFA_TEST_SQS_PORT ??= String(await freePort());
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/env.ts'],
    // The files share one DynamoDB Local and one set of queues.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
