import { parseArgs } from 'node:util';
import { QunfaError } from '../lib/errors.js';
import { loadServiceDefinition } from '../local/resources.js';
import { readLocalStackFile } from '../local/stack-file.js';

/**
 * The operator's CLI. It talks to DynamoDB with the operator's own AWS
 * credentials (or to the DynamoDB Local of a running `npm start`), never
 * through the HTTP API: no route can create accounts or add points.
 */
const USAGE = `usage: npx qunfa accounts <command> [options]

commands
  create <accountId>            create an account and print its first API key (shown once)
      --name TEXT  --route submail,zywx,sendcloud  --balance POINTS  --callback-url URL  --operator
      --vendor-pushes             receipts of tasks sent through a vendor-compatible route go out in that vendor's push format
      --per-number-interval SECONDS  --per-number-daily N  --daily-messages N   (0 turns a limit off)
  list                          every account: balance, route, limits, keys
  show <accountId>              one account, and whether its ledger adds up to its balance
  update <accountId>            change name, route, callback URL, operator flag or limits (same options as create)
  rotate-key <accountId>        issue a new API key and revoke the others (--keep-old keeps them)
      --compat                    instead, a new secret for the vendor-compatible routes
  revoke-key <accountId> <keyId>
  topup <accountId> <points>    add points (--note TEXT); recorded in the ledger
  ledger <accountId>            every top-up, charge and refund

where
  --stage local (default)       the DynamoDB Local of a running \`npm start\`
  --stage <name> [--region R]   a deployed stage, with your AWS credentials (AWS_PROFILE etc.)
  --json                        machine-readable output`;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    stage: { type: 'string', default: 'local' },
    region: { type: 'string' },
    json: { type: 'boolean', default: false },
    name: { type: 'string' },
    route: { type: 'string' },
    balance: { type: 'string' },
    'callback-url': { type: 'string' },
    operator: { type: 'boolean' },
    'no-operator': { type: 'boolean' },
    'vendor-pushes': { type: 'boolean' },
    'no-vendor-pushes': { type: 'boolean' },
    'per-number-interval': { type: 'string' },
    'per-number-daily': { type: 'string' },
    'daily-messages': { type: 'string' },
    'keep-old': { type: 'boolean', default: false },
    compat: { type: 'boolean', default: false },
    note: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const fail = (message: string, code = 2): never => {
  console.error(message);
  process.exit(code);
};

const int = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail(`--${flag} must be a whole number, not "${v}"`);
  return Number(v);
};

/** Points the AWS SDK and lib/config at the stage's tables before anything is loaded. */
async function connect(stage: string, region: string | undefined): Promise<void> {
  const def = loadServiceDefinition(stage);
  for (const [k, v] of Object.entries(def.environment)) if (k.startsWith('QUNFA_')) process.env[k] = v;
  if (stage === 'local') {
    const local = await readLocalStackFile();
    if (!local) fail('no local stack is running: start one with `npm start` (or pass --stage <deployed stage>)', 1);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: local?.ddbEndpoint,
      AWS_REGION: local?.region,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    });
  } else {
    process.env.AWS_REGION = region ?? process.env.AWS_REGION ?? def.region;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

function accountFlags(): Record<string, unknown> {
  const limits = {
    perNumberIntervalSeconds: int('per-number-interval', opts['per-number-interval']),
    perNumberDaily: int('per-number-daily', opts['per-number-daily']),
    dailyMessages: int('daily-messages', opts['daily-messages']),
  };
  const definedLimits = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
  return {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.route !== undefined ? { route: opts.route.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(opts['callback-url'] !== undefined ? { callbackUrl: opts['callback-url'] } : {}),
    ...(opts.operator ? { operator: true } : {}),
    ...(opts['no-operator'] ? { operator: false } : {}),
    ...(opts['vendor-pushes'] ? { vendorPushes: true } : {}),
    ...(opts['no-vendor-pushes'] ? { vendorPushes: false } : {}),
    ...(Object.keys(definedLimits).length > 0 ? { limits: definedLimits } : {}),
  };
}

async function main(): Promise<void> {
  const [group, command, ...args] = positionals;
  if (opts.help || group !== 'accounts' || !command) {
    console.log(USAGE);
    process.exit(opts.help ? 0 : 2);
  }
  await connect(opts.stage ?? 'local', opts.region);
  const admin = await import('../lib/accounts.js');
  const { accountStore } = await import('../lib/stores/accounts.js');
  const { ledgerStore } = await import('../lib/stores/ledger.js');
  const deps = { accounts: accountStore(undefined, ledgerStore()), ledger: ledgerStore() };
  const out = (value: unknown, text: string) => console.log(opts.json ? JSON.stringify(value, null, 2) : text);
  const need = (n: number, what: string) => {
    if (args.length < n) fail(`accounts ${command} needs ${what}\n\n${USAGE}`);
  };

  switch (command) {
    case 'create': {
      need(1, '<accountId>');
      const balance = int('balance', opts.balance);
      const r = await admin.createAccount({ accountId: args[0] as string, ...accountFlags(), ...(balance !== undefined ? { balance } : {}) } as Parameters<typeof admin.createAccount>[0], deps);
      const s = admin.summarize(r.account);
      out({ ...s, keyId: r.keyId, apiKey: r.apiKey, callbackSecret: r.account.callbackSecret, compatKey: r.account.compatKey }, [
        `created account ${s.accountId} (${s.name}): ${s.balance} points, route ${s.route.join(' → ')}`,
        `  API key ${r.keyId}: ${r.apiKey}`,
        '  (shown once: qunfa keeps only its hash)',
        `  callback secret: ${r.account.callbackSecret ?? ''}`,
        `  vendor-compatible routes: appid/smsUser/appId ${s.accountId}, key ${r.account.compatKey ?? ''}`,
        `  limits: ${limitsText(s.limits)}`,
      ].join('\n'));
      return;
    }
    case 'list': {
      const list = await admin.listAccounts(deps);
      out(list, list.length === 0 ? 'no accounts' : list.map(summaryText).join('\n'));
      return;
    }
    case 'show': {
      need(1, '<accountId>');
      const a = await deps.accounts.get(args[0] as string);
      if (!a) fail(`account ${args[0]} not found`, 1);
      const l = await admin.ledgerOf(args[0] as string, deps);
      const s = admin.summarize(a as NonNullable<typeof a>);
      out({ ...s, ledgerSum: l.sum, ledgerEntries: l.entries.length }, `${summaryText(s)}\n  ledger: ${l.entries.length} entries adding up to ${l.sum} (${l.sum === s.balance ? 'matches the balance' : 'DOES NOT match the balance'})`);
      return;
    }
    case 'update': {
      need(1, '<accountId>');
      const a = await admin.updateAccount(args[0] as string, accountFlags(), deps);
      const s = admin.summarize(a);
      out(s, `updated ${summaryText(s)}`);
      return;
    }
    case 'rotate-key': {
      need(1, '<accountId>');
      if (opts.compat) {
        const c = await admin.rotateCompatKey(args[0] as string, deps);
        out(c, `new vendor-compatible secret for ${c.accountId}: ${c.compatKey}\n  (appid/smsUser/appId = ${c.accountId}; the old secret no longer works)`);
        return;
      }
      const r = await admin.rotateKey(args[0] as string, deps, { keepOld: opts['keep-old'] });
      out(r, [`new API key ${r.keyId} for ${r.accountId}: ${r.apiKey}`, '  (shown once: qunfa keeps only its hash)', r.revoked.length ? `  revoked: ${r.revoked.join(', ')}` : '  older keys stay valid until you revoke them'].join('\n'));
      return;
    }
    case 'revoke-key': {
      need(2, '<accountId> <keyId>');
      await admin.revokeKey(args[0] as string, args[1] as string, deps);
      out({ accountId: args[0], keyId: args[1], revoked: true }, `revoked ${args[1]} of ${args[0]}: requests with it now get 401`);
      return;
    }
    case 'topup': {
      need(2, '<accountId> <points>');
      const points = int('points', args[1]) ?? 0;
      const r = await admin.topUp(args[0] as string, points, deps, opts.note);
      out({ accountId: args[0], points, ...r }, `added ${points} points to ${args[0]}: balance ${r.balance}`);
      return;
    }
    case 'ledger': {
      need(1, '<accountId>');
      const l = await admin.ledgerOf(args[0] as string, deps);
      out(l, [
        ...l.entries.map((e) => `${e.time}  ${e.kind.padEnd(6)} ${String(e.delta).padStart(10)}  ${e.taskId ?? ''} ${e.note ?? ''}`.trimEnd()),
        `balance ${l.balance}; entries add up to ${l.sum}`,
      ].join('\n'));
      return;
    }
    default:
      fail(`unknown command: accounts ${command}\n\n${USAGE}`);
  }
}

function limitsText(l: { perNumberIntervalSeconds: number; perNumberDaily: number; dailyMessages: number }): string {
  const off = (n: number, s: string) => (n > 0 ? s : 'off');
  return `one message per number every ${off(l.perNumberIntervalSeconds, `${l.perNumberIntervalSeconds} s`)}, per number per day ${off(l.perNumberDaily, String(l.perNumberDaily))}, per day ${off(l.dailyMessages, String(l.dailyMessages))}`;
}

function summaryText(s: { accountId: string; name: string; balance: number; route: string[]; operator: boolean; limits: Parameters<typeof limitsText>[0]; keys: { keyId: string; revokeTime?: string }[] }): string {
  const keys = s.keys.map((k) => (k.revokeTime ? `${k.keyId} (revoked)` : k.keyId)).join(', ');
  return `${s.accountId} (${s.name})${s.operator ? ' [operator]' : ''}: ${s.balance} points, route ${s.route.join(' → ')}\n  limits: ${limitsText(s.limits)}\n  keys: ${keys || 'none'}`;
}

main().catch((e: unknown) => {
  if (e instanceof QunfaError) fail(`${e.code}: ${e.message}`, 1);
  fail(`error: ${(e as Error).message}`, 1);
});
