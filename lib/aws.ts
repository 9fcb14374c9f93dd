import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';

/**
 * One client of each kind per process. Endpoints come from the standard
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS variables, so the same code
 * runs on Lambda and against DynamoDB Local and fauxqs.
 */
let ddb: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;

export function dynamo(): DynamoDBDocumentClient {
  ddb ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return ddb;
}

export function sqsClient(): SQSClient {
  // useQueueUrlAsEndpoint=false: fauxqs answers with sqs.<region>.localhost URLs
  // that do not resolve here; on AWS the endpoint and the URL agree anyway.
  sqs ??= new SQSClient({ useQueueUrlAsEndpoint: false });
  return sqs;
}

const queueUrls = new Map<string, Promise<string>>();

/** Queue URL by name, looked up once per process (one GetQueueUrl per cold start). */
export function queueUrl(name: string): Promise<string> {
  let url = queueUrls.get(name);
  if (!url) {
    url = sqsClient()
      .send(new GetQueueUrlCommand({ QueueName: name }))
      .then((r) => {
        if (!r.QueueUrl) throw new Error(`queue ${name} has no URL`);
        return r.QueueUrl;
      });
    url.catch(() => queueUrls.delete(name));
    queueUrls.set(name, url);
  }
  return url;
}
