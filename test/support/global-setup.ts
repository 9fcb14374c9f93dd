import { startLocalStack, type LocalStack } from '../../local/stack.js';

/** One DynamoDB Local and one fauxqs for the whole run, with serverless.yml's resources; stopped at the end. */
let stack: LocalStack | undefined;

export async function setup(): Promise<void> {
  stack = await startLocalStack({
    stage: 'local',
    ddbPort: Number(process.env.QUNFA_TEST_DDB_PORT),
    sqsPort: Number(process.env.QUNFA_TEST_SQS_PORT),
  });
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}
