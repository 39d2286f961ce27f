import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';

/** The CLI end to end: the real launcher, run by the repository's Node, against the running Worker. */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const CLI = join(ROOT, 'bin/compress-worker.mjs');
const KEY = 'ck_dev_local';
// Every option the CLI sends when none is given, spelled as the API takes them.
const DEFAULT_QUERY = 'format=auto&mode=balanced&quality=smart';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, COMPRESS_WORKER_URL: '', COMPRESS_WORKER_KEY: '', ...options.env };
    const child = spawn(NODE, [CLI, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(folder, join(e.parentPath, e.name)))
    .sort();
}

/** What the API itself answers for these bytes and options: the reference for the CLI's outputs. */
async function compressDirectly(server: string, bytes: Uint8Array, query: string): Promise<Uint8Array> {
  const response = await fetch(`${server}/v1/compress?${query}`, {
    method: 'POST',
    body: bytes,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/octet-stream' },
  });
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'compress-worker-cli-'));
  const photos = join(work, 'photos');
  await mkdir(join(photos, 'sub'), { recursive: true });
  await copyFile(join(ROOT, 'test/fixtures/exif-orientation/Landscape_1.jpg'), join(photos, 'Landscape_1.jpg'));
  await copyFile(join(ROOT, 'test/fixtures/ssimulacra2/small.png'), join(photos, 'small.png'));
  await copyFile(join(ROOT, 'test/fixtures/exif-orientation/Portrait_1.jpg'), join(photos, 'sub/Portrait_1.jpg'));
  // Named like a JPEG, but not an image: the server refuses it by content.
  await writeFile(join(photos, 'sub/broken.jpg'), Buffer.from('this is not a JPEG, whatever its name says\n'.repeat(8)));
  // Not an image by name or content: the folder walk leaves it out.
  await writeFile(join(photos, 'notes.txt'), 'holiday, day 2\n');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('against the running Worker', () => {
  // Landscape_1.jpg (3681 bytes) is the one file above this threshold, so it alone goes through a job.
  const ASYNC_ABOVE = 3500;

  test('a folder: the tree is mirrored, outputs are the API’s bytes, the job is followed, the broken file fails the run', async () => {
    const server = inject('serverUrl');
    const out = join(work, 'out-json');
    const run = await runCli(['photos', '--out', out, '--server', server, '--key', KEY, '--async-above', String(ASYNC_ABOVE), '--json'], {
      cwd: work,
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/photos\/sub\/broken\.jpg: unsupported_format \(415\): /);
    expect(run.stderr).not.toMatch(/Landscape_1|small\.png|Portrait_1/);

    expect(await filesUnder(out)).toEqual(['Landscape_1.jpg', 'small.png', 'sub/Portrait_1.jpg']);
    for (const name of ['Landscape_1.jpg', 'small.png', 'sub/Portrait_1.jpg']) {
      const written = new Uint8Array(await readFile(join(out, name)));
      const input = new Uint8Array(await readFile(join(work, 'photos', name)));
      expect(written.byteLength, name).toBeLessThan(input.byteLength);
      expect(sha1(written), name).toBe(sha1(await compressDirectly(server, input, DEFAULT_QUERY)));
    }

    const report = JSON.parse(run.stdout) as {
      files: {
        input: string;
        output?: string;
        status: string;
        before: number;
        after?: number;
        job_id?: string;
        error?: { code: string };
      }[];
      totals: { files: number; succeeded: number; failed: number; before: number; after: number; saved_percent: number };
    };
    const byInput = Object.fromEntries(report.files.map((f) => [f.input, f]));
    expect(Object.keys(byInput).sort()).toEqual([
      'photos/Landscape_1.jpg',
      'photos/small.png',
      'photos/sub/Portrait_1.jpg',
      'photos/sub/broken.jpg',
    ]);
    expect(byInput['photos/sub/broken.jpg']).toMatchObject({ status: 'failed', error: { code: 'unsupported_format' } });

    const inputSizes = await Promise.all(
      ['Landscape_1.jpg', 'small.png', 'sub/Portrait_1.jpg'].map(async (n) => (await readFile(join(work, 'photos', n))).byteLength),
    );
    const outputSizes = await Promise.all(
      ['Landscape_1.jpg', 'small.png', 'sub/Portrait_1.jpg'].map(async (n) => (await readFile(join(out, n))).byteLength),
    );
    const before = inputSizes.reduce((a, b) => a + b);
    const after = outputSizes.reduce((a, b) => a + b);
    expect(report.totals).toEqual({
      files: 4,
      succeeded: 3,
      failed: 1,
      before,
      after,
      saved_percent: Math.round(((before - after) / before) * 10000) / 100,
    });

    // The job: the CLI saw a 202 for this file only, and what it wrote is that job's output.
    const viaJob = report.files.filter((f) => f.job_id).map((f) => f.input);
    expect(viaJob).toEqual(['photos/Landscape_1.jpg']);
    const job = await fetch(`${server}/v1/jobs/${byInput['photos/Landscape_1.jpg']!.job_id}`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(job.status).toBe(200);
    const view = (await job.json()) as { status: string; progress: number; output: { sha1: string } };
    expect(view).toMatchObject({ status: 'succeeded', progress: 100 });
    expect(view.output.sha1).toBe(sha1(new Uint8Array(await readFile(join(out, 'Landscape_1.jpg')))));
  });

  test('server and key from the environment, WebP output: extensions follow the format, plain lines and a summary table', async () => {
    const server = inject('serverUrl');
    const out = join(work, 'out-webp');
    const run = await runCli(['photos/sub/Portrait_1.jpg', 'photos/small.png', '--out', out, '--format', 'webp', '--max-width', '48'], {
      cwd: work,
      env: { COMPRESS_WORKER_URL: server, COMPRESS_WORKER_KEY: KEY },
    });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await filesUnder(out)).toEqual(['Portrait_1.webp', 'small.webp']);
    for (const [input, output] of [
      ['photos/sub/Portrait_1.jpg', 'Portrait_1.webp'],
      ['photos/small.png', 'small.webp'],
    ] as const) {
      const written = new Uint8Array(await readFile(join(out, output)));
      expect(Buffer.from(written.subarray(8, 12)).toString('latin1')).toBe('WEBP');
      const reference = await compressDirectly(
        server,
        new Uint8Array(await readFile(join(work, input))),
        'format=webp&mode=balanced&quality=smart&max_width=48',
      );
      expect(sha1(written), output).toBe(sha1(reference));
    }
    // Not a terminal: one line per file, no bar, then the table with its total row.
    expect(run.stdout).toMatch(/^ok +photos\/sub\/Portrait_1\.jpg → out-webp\/Portrait_1\.webp /m);
    expect(run.stdout).not.toMatch(/\d+% \|/);
    expect(run.stdout).toMatch(/│ file +│ +before │ +after │ saved │/);
    expect(run.stdout).toMatch(/│ total \(2 files\) +│/);
  });

  test('a refused option is named before anything is sent', async () => {
    const out = join(work, 'out-refused');
    const run = await runCli(['photos', '--out', out, '--key', KEY, '--server', inject('serverUrl'), '--format', 'gif', '--mode', 'fast'], {
      cwd: work,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--format: must be one of jpeg, png, webp, avif, auto');
    expect(run.stderr).toContain('--mode: must be one of size, balanced, quality');
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});

test('--help documents every option, the environment and examples', async () => {
  const run = await runCli(['--help'], { cwd: ROOT });
  expect(run.code).toBe(0);
  for (const option of [
    '--out',
    '--server',
    '--key',
    '--format',
    '--mode',
    '--quality',
    '--max-width',
    '--max-height',
    '--concurrency',
    '--async-above',
    '--retries',
    '--json',
  ]) {
    expect(run.stdout).toContain(option);
  }
  expect(run.stdout).toContain('COMPRESS_WORKER_URL');
  expect(run.stdout).toContain('COMPRESS_WORKER_KEY');
  expect(run.stdout).toMatch(/Examples:\n {2}# .*\n {2}compress-worker /);
  expect(run.stdout).toMatch(/Exit codes:/);
});

// The machine's own Node, when it predates type stripping, shows the launcher's version check.
const SYSTEM_NODE = '/usr/bin/node';
const systemNodeVersion = (() => {
  try {
    return execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();
const stripsTypes = (version: string) => {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
};

test.skipIf(!systemNodeVersion || stripsTypes(systemNodeVersion))(
  'on a Node without type stripping the launcher says which Node it needs',
  async () => {
    const run = await new Promise<Run>((resolvePromise) => {
      execFile(SYSTEM_NODE, [CLI, '--help'], (error, stdout, stderr) =>
        resolvePromise({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`compress-worker needs Node.js 22.18 or later (this is Node ${systemNodeVersion})`);
    expect(run.stdout).toBe('');
  },
);

describe('against a stand-in server: retries, the folder walk, clashes', () => {
  const image = Buffer.from('\xff\xd8\xffstand-in compressed bytes', 'latin1');
  let server: Server;
  let url: string;
  type Answer = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;
  let answers: Answer[] = [];
  let requests: { at: number; path: string; body: Buffer }[] = [];

  const tooMany = (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
    response.end(
      JSON.stringify({ success: false, id: 'r', error: { code: 'rate_limit_exceeded', message: 'Over 30 requests per minute' } }),
    );
  };
  const unavailable = (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(503, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ success: false, id: 'r', error: { code: 'internal_error', message: 'try again' } }));
  };
  const invalid = (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(400, { 'Content-Type': 'application/json' });
    response.end(
      JSON.stringify({
        success: false,
        id: 'r',
        error: { code: 'invalid_param', message: 'quality: must be at most 100', param: 'quality' },
      }),
    );
  };
  const cut = (_: IncomingMessage, response: ServerResponse) => response.socket?.destroy();
  const quotaSpent = (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '86400' });
    response.end(
      JSON.stringify({ success: false, id: 'r', error: { code: 'rate_limit_exceeded', message: 'Monthly compressions used up' } }),
    );
  };
  // The input back as the "result", in the format its first bytes say: enough to follow where each file goes.
  const echo: Answer = (_, response, body) => {
    response.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'X-Format': body[0] === 0x89 ? 'png' : 'jpeg',
      'X-Original-Size': String(body.byteLength),
    });
    response.end(body);
  };
  const compressed = (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, {
      'Content-Type': 'image/jpeg',
      'X-Format': 'jpeg',
      'X-Original-Size': '3061',
      'X-Compressed-Size': String(image.byteLength),
      'X-Compressed': 'true',
    });
    response.end(image);
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.once('end', () => {
        const body = Buffer.concat(chunks);
        requests.push({ at: performance.now(), path: request.url ?? '', body });
        (answers.shift() ?? tooMany)(request, response, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const runOne = (out: string, retries: number) =>
    runCli(['photos/sub/Portrait_1.jpg', '--out', join(work, out), '--server', url, '--key', 'k', '--retries', String(retries), '--json'], {
      cwd: work,
    });

  test('a 429 is waited out for its Retry-After, then the file succeeds', async () => {
    requests = [];
    answers = [tooMany, compressed];
    const run = await runOne('out-429-once', 4);
    expect(run.stderr).toMatch(/retry +photos\/sub\/Portrait_1\.jpg: 429 rate_limit_exceeded; again in 1\.0 s/);
    expect(run.code).toBe(0);
    expect(requests.map((r) => r.path)).toEqual([`/v1/compress?${DEFAULT_QUERY}`, `/v1/compress?${DEFAULT_QUERY}`]);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(await readFile(join(work, 'out-429-once/Portrait_1.jpg'))).toEqual(image);
    expect(JSON.parse(run.stdout).files[0]).toMatchObject({ status: 'succeeded', retries: 1, after: image.byteLength });
  });

  test('a server that always answers 429 fails the file after the bounded tries', async () => {
    requests = [];
    answers = [];
    const run = await runOne('out-429-always', 2);
    expect(run.code).toBe(1);
    expect(requests).toHaveLength(3);
    expect(requests[2]!.at - requests[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(run.stderr).toMatch(
      /photos\/sub\/Portrait_1\.jpg: rate_limit_exceeded \(429\): Over 30 requests per minute \(after 2 retries; the server asks to wait 1 s\)/,
    );
    await expect(readdir(join(work, 'out-429-always'))).rejects.toThrow(/ENOENT/);
  });

  test('a Retry-After too long to wait for (a spent monthly quota) fails the file at once', async () => {
    requests = [];
    answers = [quotaSpent, compressed];
    const run = await runOne('out-quota', 4);
    expect(run.code).toBe(1);
    expect(requests).toHaveLength(1);
    expect(run.stderr).toMatch(
      /Portrait_1\.jpg: rate_limit_exceeded \(429\): Monthly compressions used up \(after 0 retries; the server asks to wait 86400 s\)/,
    );
  });

  test('the folder walk: images by extension or content, hidden entries and the output folder skipped, one request per image', async () => {
    const tree = join(work, 'walk');
    const jpeg = await readFile(join(ROOT, 'test/fixtures/exif-orientation/Landscape_1.jpg'));
    const png = await readFile(join(ROOT, 'test/fixtures/ssimulacra2/small.png'));
    await mkdir(join(tree, 'deep/er'), { recursive: true });
    await mkdir(join(tree, '.cache'), { recursive: true });
    await mkdir(join(tree, 'small'), { recursive: true });
    await writeFile(join(tree, 'a.JPG'), jpeg);
    await writeFile(join(tree, 'deep/er/c.png'), png);
    await writeFile(join(tree, 'scan-0001'), png);
    await writeFile(join(tree, '.cache/thumb.jpg'), jpeg);
    await writeFile(join(tree, 'small/earlier.jpg'), jpeg);
    await writeFile(join(tree, 'notes.txt'), 'not an image');

    requests = [];
    answers = [echo, echo, echo, echo];
    const run = await runCli(['walk', '--out', 'walk/small', '--server', url, '--key', 'k', '--concurrency', '1', '--json'], { cwd: work });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => sha1(r.body)).sort()).toEqual([sha1(jpeg), sha1(png), sha1(png)].sort());
    expect(JSON.parse(run.stdout).files.map((f: { input: string; output: string }) => [f.input, f.output])).toEqual([
      ['walk/a.JPG', 'walk/small/a.JPG'],
      ['walk/deep/er/c.png', 'walk/small/deep/er/c.png'],
      ['walk/scan-0001', 'walk/small/scan-0001.png'],
    ]);
    expect(await filesUnder(join(tree, 'small'))).toEqual(['a.JPG', 'deep/er/c.png', 'earlier.jpg', 'scan-0001.png']);
  });

  test('two inputs that would be written to the same output stop the run before anything is sent', async () => {
    const tree = join(work, 'clash');
    await mkdir(tree, { recursive: true });
    await copyFile(join(ROOT, 'test/fixtures/exif-orientation/Landscape_1.jpg'), join(tree, 'x.jpg'));
    await copyFile(join(ROOT, 'test/fixtures/ssimulacra2/small.png'), join(tree, 'x.png'));
    requests = [];
    const run = await runCli(['clash', '--out', 'clash-out', '--format', 'webp', '--server', url, '--key', 'k'], { cwd: work });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/clash\/x\.jpg and clash\/x\.png would both be written to .*clash-out\/x\.webp/);
    expect(requests).toHaveLength(0);
  });

  test('a 5xx and a cut connection are retried with backoff; a 400 is not retried and its message is reported', async () => {
    requests = [];
    answers = [unavailable, cut, compressed];
    const recovered = await runOne('out-503', 4);
    expect(recovered.stderr).toMatch(/retry +photos\/sub\/Portrait_1\.jpg: 503 internal_error; again in 0\.\d s \(1 of 4\)/);
    expect(recovered.stderr).toMatch(/retry +photos\/sub\/Portrait_1\.jpg: .+; again in [12]\.\d s \(2 of 4\)/);
    expect(recovered.code).toBe(0);
    expect(requests).toHaveLength(3);
    expect(JSON.parse(recovered.stdout).files[0]).toMatchObject({ status: 'succeeded', retries: 2 });

    requests = [];
    answers = [invalid, compressed];
    const refused = await runOne('out-400', 4);
    expect(refused.code).toBe(1);
    expect(requests).toHaveLength(1);
    expect(refused.stderr).toMatch(/photos\/sub\/Portrait_1\.jpg: invalid_param \(400\): quality: must be at most 100/);
    expect(JSON.parse(refused.stdout).files[0]).toMatchObject({
      status: 'failed',
      retries: 0,
      error: { code: 'invalid_param', status: 400 },
    });
  });
});
