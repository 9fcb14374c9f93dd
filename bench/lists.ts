/**
 * `npm run bench:lists`: a 1,000,000-member contact list on the local stack.
 * Imports it through the contact-lists handler in requests of 100,000 members
 * (the per-request limit), then sends a task to it: fan-out in steps (each a
 * queue message) and dispatch of every chunk to the SUBMAIL simulator.
 * Prints the time and the peak memory (RSS growth) of each handler run.
 */
import './env.js';
import { newApiKey } from '../lib/ids.js';
import { accountStore } from '../lib/stores/accounts.js';
import { ledgerStore } from '../lib/stores/ledger.js';
import { createAccount } from '../lib/accounts.js';
import { startSubmailSimulator } from '../local/simulators/submail.js';
import { startLocalStack } from '../local/stack.js';
import { measured } from './measure.js';
import { apiEvent, call } from '../test/support/fixtures.js';

const TOTAL = Number(process.env.QUNFA_BENCH_MEMBERS ?? 1_000_000);
const PER_REQUEST = 100_000;

const stack = await startLocalStack({ stage: 'local' });
const sim = await startSubmailSimulator({ appid: 'bench', appkey: 'bench-key' });
process.env.QUNFA_PROVIDERS_JSON = JSON.stringify({ submail: { baseUrl: sim.url, appid: 'bench', appkey: 'bench-key', signType: 'md5' } });
const apiKey = newApiKey();
await createAccount(
  { accountId: 'bench-lists', balance: 1e9, route: ['submail'], limits: { perNumberIntervalSeconds: 0, perNumberDaily: 0, dailyMessages: 0 } },
  { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() },
  apiKey,
);
const { handler: contactLists } = await import('../functions/contact-lists.js');
const { handler: sendBatch } = await import('../functions/send-batch.js');
const { fanOutTask } = await import('../lib/tasks/fanout.js');
const { dispatchChunk } = await import('../lib/tasks/dispatch.js');
const { wiring } = await import('../lib/wiring.js');

const fmt = (xs: number[]) => `median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;

await call(contactLists, apiEvent({ method: 'POST', path: '/v1/contact-lists', apiKey, body: JSON.stringify({ name: 'million' }) }));
const importMs: number[] = [];
const importMb: number[] = [];
const t0 = performance.now();
for (let offset = 0; offset < TOTAL; offset += PER_REQUEST) {
  const lines = ['phone,name'];
  for (let i = 0; i < Math.min(PER_REQUEST, TOTAL - offset); i++) lines.push(`${15_000_000_000 + offset + i},m${offset + i}`);
  const body = lines.join('\n');
  const r = await measured(() => call(contactLists, apiEvent({ method: 'POST', path: '/v1/contact-lists/million/members', apiKey, body, contentType: 'text/csv', pathParameters: { name: 'million' } })));
  if (r.value.status !== 200) throw new Error(`import failed: ${JSON.stringify(r.value.body)}`);
  importMs.push(r.ms / 1000);
  importMb.push(r.peakMb);
}
const importTotal = (performance.now() - t0) / 1000;
console.log(`import ${TOTAL.toLocaleString('en')} members in ${importMs.length} CSV requests of ${PER_REQUEST.toLocaleString('en')}: ${importTotal.toFixed(1)} s; per request s ${fmt(importMs)}; peak RSS growth MB ${fmt(importMb)}`);

const submitted = await measured(() => call(sendBatch, apiEvent({ method: 'POST', path: '/v1/tasks', apiKey, body: JSON.stringify({ contactLists: ['million'], content: '【压测】百万列表' }) })));
console.log(`submit: ${submitted.ms.toFixed(0)} ms, memberCount ${submitted.value.body.memberCount}`);
const taskId = submitted.value.body.taskId as string;

const refs: { taskId: string; chunkNo: number }[] = [];
let again = true;
const stepMs: number[] = [];
const stepMb: number[] = [];
const deps = { ...wiring.fanOut(), enqueueChunks: async (r: typeof refs) => void refs.push(...r), enqueueFanOut: async () => void (again = true) };
const tf = performance.now();
while (again) {
  again = false;
  const r = await measured(() => fanOutTask(taskId, deps));
  stepMs.push(r.ms / 1000);
  stepMb.push(r.peakMb);
}
console.log(`fan-out: ${stepMs.length} runs, ${((performance.now() - tf) / 1000).toFixed(1)} s in all; per run s ${fmt(stepMs)}; peak RSS growth MB ${fmt(stepMb)}; ${refs.length} chunks`);

const dispatchMs: number[] = [];
const td = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < refs.length) {
      const ref = refs[next++];
      if (!ref) break;
      const r = await measured(() => dispatchChunk(ref, wiring.dispatch()));
      dispatchMs.push(r.ms / 1000);
    }
  }),
);
const task = await wiring.tasks().get(taskId);
console.log(`dispatch: ${refs.length} chunks, 4 at a time, ${((performance.now() - td) / 1000).toFixed(1)} s; per chunk s ${fmt(dispatchMs)}; task ${task?.status}, submitted ${task?.counts.submitted}, simulator ${JSON.stringify({ requests: sim.stats().requests, recipients: sim.stats().recipients, duplicateRecipients: sim.stats().duplicateRecipients })}`);

await sim.stop();
await stack.stop();
process.exit(0);
