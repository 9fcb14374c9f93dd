import { loadServiceDefinition } from '../../local/resources.js';

// Every worker talks to the stack global-setup started, with the same names
// the functions get from serverless.yml.
const def = loadServiceDefinition('local');
Object.assign(process.env, {
  AWS_REGION: def.region,
  AWS_DEFAULT_REGION: def.region,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${process.env.QUNFA_TEST_DDB_PORT}`,
  AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${process.env.QUNFA_TEST_SQS_PORT}`,
  ...Object.fromEntries(Object.entries(def.environment).filter(([k]) => k.startsWith('QUNFA_'))),
});
