import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { compressOptionsSchema } from '../src/schemas/options.ts';

export const DEFAULT_SERVER = 'http://localhost:8787';
/** The server's own default `ASYNC_THRESHOLD_BYTES`: above it the Worker answers with a job anyway. */
export const DEFAULT_ASYNC_ABOVE = 4 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_RETRIES = 4;
const MAX_CONCURRENCY = 32;
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// The option values come from the API's own schema, so the CLI cannot drift from the contract.
const shape = compressOptionsSchema.shape;
export const FORMATS: readonly string[] = shape.format.unwrap().options;
export const MODES: readonly string[] = shape.mode.unwrap().options;

/** The options sent with every file, in the API's field names. */
export interface CompressFields {
  format?: string;
  mode?: string;
  quality?: string;
  max_width?: number;
  max_height?: number;
}

export interface Settings {
  inputs: string[];
  out: string;
  server: string;
  key: string;
  fields: CompressFields;
  concurrency: number;
  /** Files larger than this are sent with `async=true`. */
  asyncAbove: number;
  /** Further tries of one request after a 429, a 5xx or a network error. */
  retries: number;
  json: boolean;
}

export type Parsed = { kind: 'run'; settings: Settings } | { kind: 'help'; text: string } | { kind: 'version'; text: string };

/** A mistake on the command line: the shell prints it with a hint and exits 2. */
export class UsageError extends Error {}

const EXAMPLES = `
Environment:
  COMPRESS_WORKER_URL   the server, when --server is not given
  COMPRESS_WORKER_KEY   the API key, when --key is not given

Examples:
  # every image under photos/ (recursively) into small/, same tree, same formats
  compress-worker photos --out small --key ck_dev_local

  # two files and a folder to WebP at most 1600 px wide, on a deployed Worker
  export COMPRESS_WORKER_URL=https://images.example.com COMPRESS_WORKER_KEY=ck_live_…
  compress-worker hero.png logo.png assets/ --out dist/img --format webp --max-width 1600

  # smallest files that still look fine, one JSON document for scripts
  compress-worker photos --out small --mode size --json > report.json

  # everything over 1 MiB as a job (polled until done) instead of one long request
  compress-worker photos --out small --async-above 1MiB

Exit codes:
  0  every file was compressed
  1  at least one file failed (each is named on stderr with the API's reason)
  2  the command line was wrong, or no image was found
`;

function program(): Command {
  return new Command('compress-worker')
    .description(
      'Compress images with a compress-worker API. Files and folders (walked recursively, keeping their structure) ' +
        'are sent to the server and the results written under --out. Inside folders, image files are chosen by ' +
        'extension (jpg, jpeg, png, webp, avif) or by their first bytes; the output extension follows the output format.',
    )
    .argument('<paths...>', 'image files and folders to compress')
    .option('-o, --out <dir>', 'folder to write the results into (required)')
    .option('-s, --server <url>', `API base URL (env COMPRESS_WORKER_URL; default ${DEFAULT_SERVER})`)
    .option('-k, --key <key>', 'API key (env COMPRESS_WORKER_KEY)')
    .option('-f, --format <format>', `output format: ${FORMATS.join(', ')} (auto keeps each input's format)`, 'auto')
    .option('-m, --mode <mode>', `how far smart quality may go: ${MODES.join(', ')}`, 'balanced')
    .option('-q, --quality <quality>', 'encoder quality 1..100, or smart (the lowest quality that meets --mode)', 'smart')
    .option('--max-width <px>', 'shrink wider images to this width, keeping the aspect ratio (never enlarges)')
    .option('--max-height <px>', 'shrink taller images to this height, keeping the aspect ratio (never enlarges)')
    .option('-c, --concurrency <n>', `files in flight at once, 1..${MAX_CONCURRENCY}`, String(DEFAULT_CONCURRENCY))
    .option('--async-above <size>', 'send files larger than this as jobs and poll them (bytes, or with KiB/MiB)', '4MiB')
    .option('--retries <n>', 'further tries of a request after 429 (waiting Retry-After), 5xx or a network error', String(DEFAULT_RETRIES))
    .option('--json', 'print one JSON document (per-file results and totals) instead of bars and a table')
    .version(VERSION, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError(false)
    .allowExcessArguments(false);
}

/**
 * Reads the command line and the environment into settings; flags win over the environment.
 * Prints nothing: help and version come back as text, mistakes as a UsageError.
 */
export function parseArguments(argv: string[], env: Record<string, string | undefined>): Parsed {
  const command = program();
  let written = '';
  let errorText = '';
  command.exitOverride().configureOutput({
    writeOut: (text) => {
      written += text;
    },
    writeErr: (text) => {
      errorText += text;
    },
  });
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed') return { kind: 'help', text: written };
    if (error.code === 'commander.version') return { kind: 'version', text: written };
    throw new UsageError((errorText || error.message).replace(/^error: /, '').trim());
  }
  const o = command.opts<Record<string, string | boolean | undefined>>();
  const text = (name: string) => (typeof o[name] === 'string' ? (o[name] as string) : undefined);

  const out = text('out');
  if (!out) throw new UsageError('--out <dir> is required: the folder to write the results into');
  const server = normalizeServer(text('server') ?? env.COMPRESS_WORKER_URL ?? DEFAULT_SERVER);
  const key = text('key') ?? env.COMPRESS_WORKER_KEY;
  if (!key) throw new UsageError('an API key is required: pass --key <key> or set COMPRESS_WORKER_KEY');

  return {
    kind: 'run',
    settings: {
      inputs: command.args,
      out,
      server,
      key,
      fields: compressFields(o),
      concurrency: wholeNumber('--concurrency', text('concurrency')!, 1, MAX_CONCURRENCY),
      asyncAbove: byteSize('--async-above', text('asyncAbove')!),
      retries: wholeNumber('--retries', text('retries')!, 0, 20),
      json: o.json === true,
    },
  };
}

const FLAG_OF: Record<string, string> = {
  format: '--format',
  mode: '--mode',
  quality: '--quality',
  max_width: '--max-width',
  max_height: '--max-height',
};

/** Validated with the API's own schema, so a mistake is caught before any upload, with the server's wording. */
function compressFields(o: Record<string, string | boolean | undefined>): CompressFields {
  const fields: Record<string, string> = {};
  for (const [name, option] of [
    ['format', 'format'],
    ['mode', 'mode'],
    ['quality', 'quality'],
    ['max_width', 'maxWidth'],
    ['max_height', 'maxHeight'],
  ] as const) {
    if (typeof o[option] === 'string') fields[name] = (o[option] as string).trim().toLowerCase();
  }
  const checked = compressOptionsSchema.safeParse(fields);
  if (!checked.success) {
    throw new UsageError(
      checked.error.issues.map((issue) => `${FLAG_OF[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}`).join('\n'),
    );
  }
  const v = checked.data;
  return {
    format: v.format,
    mode: v.mode,
    quality: String(v.quality),
    ...(v.max_width !== undefined ? { max_width: v.max_width } : {}),
    ...(v.max_height !== undefined ? { max_height: v.max_height } : {}),
  };
}

function normalizeServer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server: "${value}" is not a URL (for example ${DEFAULT_SERVER})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server: "${value}" must be an http or https URL`);
  return url.toString().replace(/\/+$/, '');
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag}: "${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag}: must be from ${min} to ${max}`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2 };

/** `4194304`, `4MiB`, `512k`, `1.5MB`. */
export function byteSize(flag: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${flag}: "${value}" is not a size (bytes, or a number with KiB, MiB, KB or MB)`);
  return Math.floor(Number(match[1]) * unit);
}
