/**
 * One-command deploy of the production environment (`[env.production]` in wrangler.toml):
 *
 *   npm run deploy               creates what is missing, then deploys
 *   npm run deploy -- --dry-run  prints the steps and runs wrangler's dry run (no account needed)
 *
 * What it creates: the queues and dead-letter queues the configuration names, and a random
 * SIGNING_SECRET if the Worker has none. KV namespaces and the R2 bucket are provisioned by
 * `wrangler deploy` itself (bindings without ids). The development configuration (the top
 * level, with its public dev key and signing secret) is never deployed by this script.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';

const ENVIRONMENT = 'production';
const dryRun = process.argv.includes('--dry-run');

interface ProductionConfig {
  name: string;
  env: {
    production: {
      vars?: Record<string, string>;
      queues?: { producers?: { queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string }[] };
      kv_namespaces?: { binding: string; id?: string }[];
      r2_buckets?: { binding: string; bucket_name?: string }[];
    };
  };
}

const config = parse(readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8')) as unknown as ProductionConfig;
const production = config.env?.production;
if (!production) fail('wrangler.toml has no [env.production]');
if (production.vars?.ENVIRONMENT !== ENVIRONMENT)
  fail('[env.production.vars] must set ENVIRONMENT = "production" (the dev key exists only in development)');
if (production.vars && 'SIGNING_SECRET' in production.vars) fail('SIGNING_SECRET must be a secret, not a var of [env.production]');

const queues = [
  ...new Set([
    ...(production.queues?.producers ?? []).map((p) => p.queue),
    ...(production.queues?.consumers ?? []).flatMap((c) => [c.queue, ...(c.dead_letter_queue ? [c.dead_letter_queue] : [])]),
  ]),
];

/** Runs wrangler with the project's Node; returns its output, or undefined when it failed. */
function wrangler(args: string[], { show = true, input }: { show?: boolean; input?: string } = {}): string | undefined {
  if (show) console.log(`$ wrangler ${args.join(' ')}`);
  const result = spawnSync('npx', ['wrangler', ...args], {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'inherit' : 'pipe', 'pipe', show ? 'inherit' : 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (show && result.stdout) process.stdout.write(result.stdout);
  return result.status === 0 ? result.stdout : undefined;
}

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

function step(text: string) {
  console.log(`\n== ${text}`);
}

if (dryRun) {
  step('Dry run: the steps a deploy takes');
  console.log(`1. Check the Cloudflare login (wrangler whoami).`);
  console.log(`2. Create the queues that do not exist yet: ${queues.join(', ')}.`);
  console.log(
    `3. Deploy with --env ${ENVIRONMENT}; wrangler provisions the KV namespaces (${(production.kv_namespaces ?? []).map((k) => k.binding).join(', ')}) and the R2 bucket (${(production.r2_buckets ?? []).map((b) => b.bucket_name ?? b.binding).join(', ')}) on first deploy.`,
  );
  console.log(`4. If the Worker has no SIGNING_SECRET, upload a random one with the deploy (--secrets-file).`);
  step(`wrangler's own dry run of the ${ENVIRONMENT} environment`);
  const outdir = mkdtempSync(join(tmpdir(), 'compress-worker-deploy-'));
  const ok = wrangler(['deploy', '--env', ENVIRONMENT, '--dry-run', '--outdir', outdir]);
  rmSync(outdir, { recursive: true, force: true });
  if (ok === undefined) fail('wrangler deploy --dry-run failed');
  console.log('\nDry run complete: nothing was created or uploaded.');
  process.exit(0);
}

step('Cloudflare login');
if (wrangler(['whoami']) === undefined) fail('not logged in: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN) and try again');

step('Queues');
const existing = wrangler(['queues', 'list'], { show: false }) ?? '';
for (const queue of queues) {
  if (new RegExp(`(^|[\\s│|])${queue}([\\s│|]|$)`, 'm').test(existing)) {
    console.log(`${queue}: exists`);
    continue;
  }
  if (wrangler(['queues', 'create', queue]) === undefined) fail(`could not create the queue ${queue}`);
}

step('Signing secret');
const secrets = wrangler(['secret', 'list', '--env', ENVIRONMENT, '--format', 'json'], { show: false });
const hasSecret = secrets !== undefined && (JSON.parse(secrets) as { name: string }[]).some((s) => s.name === 'SIGNING_SECRET');
let secretsDir: string | undefined;
const deployArgs = ['deploy', '--env', ENVIRONMENT];
if (hasSecret) {
  console.log('SIGNING_SECRET: set');
} else {
  // Given to this one deploy only; wrangler keeps it with the Worker's later versions.
  secretsDir = mkdtempSync(join(tmpdir(), 'compress-worker-secret-'));
  const file = join(secretsDir, 'secrets.json');
  writeFileSync(file, JSON.stringify({ SIGNING_SECRET: randomBytes(32).toString('base64url') }), { mode: 0o600 });
  deployArgs.push('--secrets-file', file);
  console.log('SIGNING_SECRET: none yet; a random one is uploaded with this deploy');
}

step(`Deploy (--env ${ENVIRONMENT})`);
const deployed = wrangler(deployArgs);
if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
if (deployed === undefined) fail('wrangler deploy failed');
console.log('\nDeployed. Make an API key with `npm run keys -- create --remote` (see README, "API keys").');
