import { GetQueueUrlCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { sqsClient } from '../../lib/aws.js';
import type { ServiceDefinition } from '../../local/resources.js';

export async function queueUrlsByName(def: ServiceDefinition): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const r of Object.values(def.resources)) {
    if (r.Type !== 'AWS::SQS::Queue') continue;
    const name = String(r.Properties.QueueName);
    const out = await sqsClient().send(new GetQueueUrlCommand({ QueueName: name }));
    urls.set(name, out.QueueUrl ?? '');
  }
  return urls;
}

export async function purgeAll(urls: Map<string, string>): Promise<void> {
  for (const url of urls.values()) await sqsClient().send(new PurgeQueueCommand({ QueueUrl: url }));
}
