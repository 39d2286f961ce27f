/**
 * API key management without a dashboard:
 *
 *   npm run keys -- create --plan pro --label "my site" [--test]
 *   npm run keys -- list
 *   npm run keys -- revoke ck_live_AbCdEfGh
 *
 * `--local` (the default) works on the state `npm run dev` uses (.wrangler/); `--remote`
 * works on the deployed Worker's API_KEYS namespace (`wrangler login` first).
 */
import { execFileSync } from 'node:child_process';
import { Command, Option } from 'commander';
import { type KeyMetadata, type KeyRecord, keyMetadata, keyRecordName, newKeyRecord } from '../src/auth/key-format.ts';
import { PLAN_NAMES, type PlanName } from '../src/auth/plans.ts';

interface Target {
  remote?: boolean;
}

function wranglerKv(target: Target, args: string[]): string {
  const where = target.remote ? ['--remote', '--env', 'production'] : ['--local'];
  return execFileSync('npx', ['wrangler', 'kv', ...args, '--binding', 'API_KEYS', ...where], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function listKeys(target: Target): { name: string; metadata: KeyMetadata }[] {
  const output = wranglerKv(target, ['key', 'list', '--prefix', 'key:']);
  return JSON.parse(output.slice(output.indexOf('['))) as { name: string; metadata: KeyMetadata }[];
}

function putRecord(target: Target, record: KeyRecord): void {
  wranglerKv(target, ['key', 'put', keyRecordName(record.hash), JSON.stringify(record), '--metadata', JSON.stringify(keyMetadata(record))]);
}

const where = new Option('--remote', "the deployed Worker's KV (default: local development state)");
const program = new Command('keys').description('Manage API keys of the compression API').showHelpAfterError();

program
  .command('create')
  .description('create a key and show it once')
  .addOption(new Option('--plan <plan>', 'the plan').choices(PLAN_NAMES.filter((p) => p !== 'dev')).makeOptionMandatory())
  .requiredOption('--label <label>', 'what the key is for')
  .option('--test', 'a ck_test_ key instead of ck_live_')
  .addOption(where)
  .action(async (options: { plan: PlanName; label: string; test?: boolean; remote?: boolean }) => {
    const { key, record } = await newKeyRecord(options.test ? 'test' : 'live', options.plan, options.label);
    putRecord(options, record);
    console.log(`Created a ${record.plan} key "${record.label}" (${options.remote ? 'remote' : 'local'}):\n`);
    console.log(`  API key:         ${key}`);
    console.log(`  webhook secret:  ${record.webhookSecret}`);
    console.log(`  account:         ${record.accountId}\n`);
    console.log('The key is shown only now: it is stored as a hash and cannot be recovered.');
  });

program
  .command('list')
  .description('list keys (prefixes only)')
  .addOption(where)
  .action((options: Target) => {
    const keys = listKeys(options);
    if (!keys.length) return console.log('No keys.');
    console.table(
      keys.map(({ metadata: m }) => ({ prefix: m.prefix, plan: m.plan, label: m.label, created: m.createdAt, revoked: m.revokedAt ?? '' })),
    );
  });

program
  .command('revoke')
  .description('revoke the key whose prefix is given (as `list` shows it)')
  .argument('<prefix>', 'the start of the key, e.g. ck_live_AbCdEfGh')
  .addOption(where)
  .action((prefix: string, options: Target) => {
    const matches = listKeys(options).filter(({ metadata }) => metadata.prefix.startsWith(prefix) || prefix.startsWith(metadata.prefix));
    if (matches.length !== 1) {
      console.error(matches.length ? `"${prefix}" matches ${matches.length} keys; give more of it.` : `No key starts with "${prefix}".`);
      process.exit(1);
    }
    const record = JSON.parse(wranglerKv(options, ['key', 'get', matches[0]!.name, '--text'])) as KeyRecord;
    if (record.revokedAt) return console.log(`${record.prefix}… was already revoked on ${record.revokedAt}.`);
    putRecord(options, { ...record, revokedAt: new Date().toISOString() });
    console.log(`Revoked ${record.prefix}… ("${record.label}").`);
    console.log("It stops working at once here, and everywhere within KV's propagation time (up to 60 s).");
  });

await program.parseAsync();
