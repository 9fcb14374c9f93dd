import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parse, type Tags } from 'yaml';

/**
 * Reads serverless.yml, the single definition of tables, queues and queue
 * triggers, and creates the same resources on DynamoDB Local and fauxqs.
 * Only the variable sources the file uses are resolved: ${self:…}, ${sls:stage},
 * ${opt:…, default} and ${env:…, default}.
 */
export const SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

const cfnTags: Tags = ['Ref', 'GetAtt', 'Sub', 'Join', 'Select', 'If', 'Equals'].flatMap((name) => [
  { tag: `!${name}`, resolve: (v: unknown) => ({ [`Fn::${name}`]: v }), collection: 'seq' as const },
  { tag: `!${name}`, resolve: (v: unknown) => ({ [`Fn::${name}`]: v }) },
]);

type Yaml = Record<string, unknown>;
const KEEP = Symbol('leave the variable as written');

export interface ServiceDefinition {
  service: string;
  stage: string;
  region: string;
  /** Environment the functions get from provider.environment (strings only). */
  environment: Record<string, string>;
  resources: Record<string, { Type: string; Properties: Yaml }>;
  /** Configured memory of each function (MB), provider default applied: what Lambda bills by. */
  memoryMb: Record<string, number>;
  /** SQS triggers: which function consumes which queue, in what batch size. */
  queueTriggers: { functionName: string; handler: string; queueName: string; batchSize: number; batchingWindowSeconds: number }[];
}

export function loadServiceDefinition(stage: string, file = SERVERLESS_YML): ServiceDefinition {
  const doc = parse(readFileSync(file, 'utf8'), { customTags: cfnTags }) as Yaml;
  const resolve = (value: unknown, depth = 0): unknown => {
    if (depth > 20) throw new Error('serverless.yml variables nest too deep');
    if (typeof value === 'string') {
      const whole = /^\$\{([^{}]+)\}$/.exec(value);
      if (whole?.[1]) {
        const v = lookup(whole[1]);
        return v === KEEP ? value : resolve(v, depth + 1);
      }
      return value.replace(/\$\{([^{}]+)\}/g, (m, expr: string) => {
        const v = lookup(expr);
        return v === KEEP ? m : String(resolve(v, depth + 1));
      });
    }
    if (Array.isArray(value)) return value.map((v) => resolve(v, depth));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, depth)]));
    }
    return value;
  };
  const lookup = (expr: string): unknown => {
    const [source = '', fallback] = splitFallback(expr);
    if (source === 'sls:stage') return stage;
    if (source.startsWith('self:')) {
      let cur: unknown = doc;
      for (const part of source.slice(5).split('.')) cur = (cur as Yaml | undefined)?.[part];
      if (cur === undefined) return fallback;
      return cur;
    }
    if (source.startsWith('env:')) return process.env[source.slice(4)] ?? fallback;
    if (source.startsWith('opt:')) return fallback;
    // ${Logical.Attr} and ${AWS::Region} belong to CloudFormation's !Sub; files to deployment.
    if (!/^[a-z]+:/.test(source) || source.startsWith('file(')) return KEEP;
    throw new Error(`serverless.yml: unsupported variable \${${expr}}`);
  };

  const provider = resolve(doc.provider) as Yaml;
  const resources = (resolve((doc.resources as Yaml).Resources) ?? {}) as ServiceDefinition['resources'];
  const functions = (doc.functions ?? {}) as Record<string, Yaml>;
  const queueTriggers: ServiceDefinition['queueTriggers'] = [];
  for (const [functionName, fn] of Object.entries(functions)) {
    for (const event of (fn.events as Yaml[] | undefined) ?? []) {
      const sqs = event.sqs as Yaml | undefined;
      if (!sqs) continue;
      const arn = sqs.arn as { 'Fn::GetAtt'?: string | string[] };
      const getAtt = arn['Fn::GetAtt'];
      const logicalId = Array.isArray(getAtt) ? getAtt[0] : getAtt?.split('.')[0];
      const queue = logicalId ? resources[logicalId] : undefined;
      if (!queue) throw new Error(`function ${functionName}: sqs event must use !GetAtt <Queue>.Arn`);
      queueTriggers.push({
        functionName,
        handler: String(fn.handler),
        queueName: String(queue.Properties.QueueName),
        batchSize: Number(sqs.batchSize ?? 10),
        batchingWindowSeconds: Number(sqs.maximumBatchingWindow ?? 0),
      });
    }
  }
  const environment = Object.fromEntries(
    Object.entries((provider.environment as Yaml | undefined) ?? {}).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
  const memoryMb = Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, Number(fn.memorySize ?? provider.memorySize ?? 1024)]));
  return { service: String(doc.service), stage, region: String(provider.region ?? 'us-east-1'), environment, resources, queueTriggers, memoryMb };
}

function splitFallback(expr: string): [string, string | undefined] {
  const i = expr.indexOf(',');
  if (i < 0) return [expr.trim(), undefined];
  return [expr.slice(0, i).trim(), expr.slice(i + 1).trim().replace(/^['"]|['"]$/g, '')];
}

const TABLE_FIELDS = ['TableName', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes', 'BillingMode'] as const;

export async function createTables(ddb: DynamoDBClient, def: ServiceDefinition): Promise<string[]> {
  const created: string[] = [];
  for (const r of Object.values(def.resources)) {
    if (r.Type !== 'AWS::DynamoDB::Table') continue;
    const input = Object.fromEntries(TABLE_FIELDS.filter((f) => r.Properties[f] !== undefined).map((f) => [f, r.Properties[f]]));
    await ddb.send(new CreateTableCommand(input as unknown as CreateTableCommandInput));
    const ttl = r.Properties.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
    if (ttl?.Enabled) {
      await ddb.send(new UpdateTimeToLiveCommand({ TableName: String(r.Properties.TableName), TimeToLiveSpecification: ttl }));
    }
    created.push(String(r.Properties.TableName));
  }
  return created;
}

/** Creates queues dead-letter queues first, so every redrive policy can name its DLQ's ARN. */
export async function createQueues(sqs: SQSClient, def: ServiceDefinition): Promise<Map<string, string>> {
  const queues = Object.entries(def.resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
  const arns = new Map<string, string>();
  const urls = new Map<string, string>();
  const ordered = [...queues].sort(([, a], [, b]) => Number(!!a.Properties.RedrivePolicy) - Number(!!b.Properties.RedrivePolicy));
  for (const [logicalId, r] of ordered) {
    const p = r.Properties;
    const attributes: Record<string, string> = {};
    for (const key of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds']) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    const redrive = p.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': string | string[] }; maxReceiveCount: number } | undefined;
    if (redrive) {
      const target = redrive.deadLetterTargetArn['Fn::GetAtt'];
      const dlqId = Array.isArray(target) ? target[0] : target.split('.')[0];
      const dlqArn = dlqId ? arns.get(dlqId) : undefined;
      if (!dlqArn) throw new Error(`queue ${logicalId}: dead-letter queue ${dlqId} not defined`);
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: redrive.maxReceiveCount });
    }
    const out = await sqs.send(new CreateQueueCommand({ QueueName: String(p.QueueName), Attributes: attributes }));
    const url = out.QueueUrl ?? '';
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    arns.set(logicalId, attrs.Attributes?.QueueArn ?? '');
    urls.set(String(p.QueueName), url);
  }
  return urls;
}
