import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, extname, relative } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Parsed, type Settings, UsageError, parseArguments } from './arguments.ts';
import { type FileEvent, FileFailure, compressBytes } from './client.ts';
import { type FileResult, formatBytes, savedPercent, summaryTable, totalsOf } from './report.ts';
import { PlanError, type PlannedFile, outputPath, planFiles } from './walk.ts';

/** Runs the CLI and answers its exit code: 0 all compressed, 1 some file failed, 2 a usage mistake. */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArguments(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageMistake(error.message);
  }
  if (parsed.kind !== 'run') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const settings = parsed.settings;

  let files: PlannedFile[];
  try {
    files = await planFiles(settings.inputs, settings.out, settings.fields.format ?? 'auto');
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    return usageMistake(error.message);
  }
  if (files.length === 0) return usageMistake(`no image (jpg, jpeg, png, webp, avif) found in ${settings.inputs.join(', ')}`);

  const display: Display = settings.json ? quietDisplay() : process.stdout.isTTY ? barDisplay(files) : lineDisplay();
  const results = await compressAll(files, settings, display);
  display.stop();

  const totals = totalsOf(results);
  if (settings.json) {
    const document = { server: settings.server, out: settings.out, options: settings.fields, files: results, totals };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    process.stdout.write(`${summaryTable(results, Boolean(process.stdout.isTTY))}\n`);
  }
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length) {
    const lines = failed.map((r) => `  ${r.input}: ${r.error!.code}${r.error!.status ? ` (${r.error!.status})` : ''}: ${r.error!.message}`);
    process.stderr.write(`${failed.length} of ${results.length} ${results.length === 1 ? 'file' : 'files'} failed:\n${lines.join('\n')}\n`);
    return 1;
  }
  return 0;
}

function usageMistake(message: string): number {
  process.stderr.write(`compress-worker: ${message}\nSee compress-worker --help for the options and examples.\n`);
  return 2;
}

/** At most `concurrency` files in flight; results in the order the files were found. */
async function compressAll(files: PlannedFile[], settings: Settings, display: Display): Promise<FileResult[]> {
  const results: FileResult[] = new Array(files.length);
  let next = 0;
  // A refused key fails every file the same way: the rest are not sent.
  let refusedKey: FileResult['error'];
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index]!;
      if (refusedKey) {
        results[index] = {
          input: file.display,
          status: 'failed',
          before: file.size,
          retries: 0,
          seconds: 0,
          error: { code: 'not_sent', message: `not sent, the server refused the key: ${refusedKey.message}` },
        };
        continue;
      }
      results[index] = await compressOne(file, settings, display.start(file));
      if (results[index].error?.status === 401) refusedKey = results[index].error;
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, files.length) }, worker));
  return results;
}

async function compressOne(file: PlannedFile, settings: Settings, progress: FileProgress): Promise<FileResult> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  let jobId: string | undefined;
  let retries = 0;
  const onEvent = (event: FileEvent) => {
    if (event.kind === 'accepted') jobId = event.jobId;
    if (event.kind === 'retry') retries++;
    progress.event(event);
  };
  let result: FileResult;
  try {
    const bytes = await readFile(file.source).catch((error: NodeJS.ErrnoException) => {
      throw new FileFailure('read_error', `cannot read the file (${error.code ?? error.message})`);
    });
    const outcome = await compressBytes(bytes, settings, onEvent);
    // With format=auto the server decides by content; a result in another format gets that format's extension.
    const output = outcome.format === file.expectedFormat ? file.output : outputPath(file.outputStem, extname(file.output), outcome.format);
    await writeAtomically(output, outcome.bytes).catch((error: NodeJS.ErrnoException) => {
      throw new FileFailure('write_error', `cannot write ${output} (${error.code ?? error.message})`);
    });
    result = {
      input: file.display,
      output: relative(process.cwd(), output),
      status: 'succeeded',
      before: outcome.before,
      after: outcome.after,
      saved_percent: savedPercent(outcome.before, outcome.after),
      format: outcome.format,
      compressed: outcome.compressed,
      ...(outcome.job ? { job_id: outcome.job.id } : {}),
      retries: outcome.retries,
      seconds: seconds(),
    };
  } catch (error) {
    const failure = error instanceof FileFailure ? error : new FileFailure('client_error', (error as Error).message ?? String(error));
    result = {
      input: file.display,
      status: 'failed',
      before: file.size,
      ...(jobId ? { job_id: jobId } : {}),
      retries,
      seconds: seconds(),
      error: { code: failure.code, message: failure.message, ...(failure.status ? { status: failure.status } : {}) },
    };
  }
  progress.done(result);
  return result;
}

/** Written beside the target and renamed, so an interrupted run never leaves half an image under the final name. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  try {
    await writeFile(partial, bytes);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

interface FileProgress {
  event(event: FileEvent): void;
  done(result: FileResult): void;
}
interface Display {
  start(file: PlannedFile): FileProgress;
  stop(): void;
}

const resultLine = (r: FileResult) =>
  r.status === 'succeeded'
    ? `ok      ${r.input} → ${r.output}  ${formatBytes(r.before)} → ${formatBytes(r.after!)} (${r.saved_percent!.toFixed(1)}% saved${r.compressed === false ? ', kept as is' : ''}${r.job_id ? `, job ${r.job_id}` : ''})`
    : `failed  ${r.input}: ${r.error!.code}: ${r.error!.message}`;

const retryLine = (input: string, e: Extract<FileEvent, { kind: 'retry' }>) =>
  `retry   ${input}: ${e.reason}; again in ${e.waitSeconds.toFixed(1)} s (${e.retry} of ${e.of})`;

/** With --json: nothing on stdout until the document; retries still show on stderr. */
function quietDisplay(): Display {
  return {
    start: (file) => ({
      event: (e) => {
        if (e.kind === 'retry') process.stderr.write(`${retryLine(file.display, e)}\n`);
      },
      done: () => {},
    }),
    stop: () => {},
  };
}

/** Not a terminal (a pipe, a CI log): one line per file as it ends, and per job and retry. */
function lineDisplay(): Display {
  return {
    start: (file) => ({
      event: (e) => {
        if (e.kind === 'accepted') process.stdout.write(`job     ${file.display}: accepted as job ${e.jobId}, polling\n`);
        if (e.kind === 'retry') process.stderr.write(`${retryLine(file.display, e)}\n`);
      },
      done: (result) => process.stdout.write(`${resultLine(result)}\n`),
    }),
    stop: () => {},
  };
}

/** A terminal: an overall bar, and one bar per file in flight (upload, job or compression, download). */
function barDisplay(files: PlannedFile[]): Display {
  const multibar = new MultiBar(
    { format: ' {bar} {percentage}% | {name} | {phase}', barsize: 24, hideCursor: true, clearOnComplete: false, autopadding: true },
    Presets.shades_classic,
  );
  const overall = multibar.create(
    files.length,
    0,
    { name: `0/${files.length} files`, phase: '' },
    { format: ' {bar} {percentage}% | {name} | {phase}' },
  );
  let done = 0;
  let before = 0;
  let after = 0;
  const stopOnInterrupt = () => {
    multibar.stop();
    process.exit(130);
  };
  process.once('SIGINT', stopOnInterrupt);
  return {
    start: (file) => {
      const bar: SingleBar = multibar.create(100, 0, { name: file.display, phase: 'uploading' });
      // The share of a file's bar each stage fills: most of the wait is the server's work.
      const set = (value: number, phase: string) => bar.update(Math.round(value), { phase });
      return {
        event: (e) => {
          if (e.kind === 'upload') set((e.sent / e.total) * 30, e.sent < e.total ? 'uploading' : 'compressing');
          if (e.kind === 'accepted') set(30, `job ${e.jobId.slice(0, 8)} queued`);
          if (e.kind === 'job') set(30 + (e.progress / 100) * 50, `job ${e.status} ${e.progress}%`);
          if (e.kind === 'download') set(80 + (e.total ? (e.received / e.total) * 20 : 10), 'downloading');
          if (e.kind === 'retry') bar.update({ phase: `${e.reason}, retry in ${e.waitSeconds.toFixed(1)} s` });
        },
        done: (result) => {
          multibar.remove(bar);
          multibar.log(`${resultLine(result)}\n`);
          done++;
          if (result.status === 'succeeded') {
            before += result.before;
            after += result.after!;
          }
          overall.update(done, { name: `${done}/${files.length} files`, phase: `${formatBytes(before)} → ${formatBytes(after)}` });
        },
      };
    },
    stop: () => {
      multibar.stop();
      process.off('SIGINT', stopOnInterrupt);
    },
  };
}
