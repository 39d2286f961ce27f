import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A `wrangler dev` of this project on a loopback port, for benchmarks. */
export interface DevServer {
  url: string;
  /** The workerd process that runs the Worker's isolate. */
  workerdPid: number;
  /** The same, looked up again: wrangler restarts the runtime when a file it watches changes. */
  runtimePid(): number | undefined;
  /** The end of wrangler's output so far (it is read all along, so a full pipe never stalls it). */
  output(): string;
  stop(): void;
}

/** `vars` override wrangler.toml's variables for this run (wrangler dev --var). */
export async function startDevServer(port: number, vars: Record<string, string> = {}, startupSeconds = 60): Promise<DevServer> {
  const overrides = Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
  const child = spawn('npx', ['wrangler', 'dev', '--port', String(port), '--ip', '127.0.0.1', '--log-level', 'warn', ...overrides], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startupSeconds * 1000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start within ${startupSeconds} s`);
    try {
      if ((await fetch(`${url}/v1/health`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  // wrangler runs two workerd processes: a proxy that owns the port, and the runtime that
  // runs the Worker (started with an inspector). The second is the one to measure.
  const runtimePid = () =>
    findDescendants(child.pid!, 'workerd').find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--inspector-addr'));
  const workerdPid = runtimePid();
  if (!workerdPid) throw new Error('no workerd runtime process found under wrangler');
  return { url, workerdPid, runtimePid, output: () => output, stop: () => stop(child) };
}

function stop(child: ChildProcess) {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    /* already gone */
  }
}

function findDescendants(rootPid: number, name: string): number[] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      parents.set(Number(entry), Number(status.match(/^PPid:\s+(\d+)/m)![1]));
      names.set(Number(entry), status.match(/^Name:\s+(\S+)/m)![1]!);
    } catch {
      /* exited meanwhile */
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p; p = parents.get(p)) if (p === rootPid) return true;
    return false;
  };
  return [...names].filter(([pid, n]) => n === name && isDescendant(pid)).map(([pid]) => pid);
}

/** Resident-set high-water mark and current size, in MiB. */
export function memory(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))![1]) / 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

/** Lowers the high-water mark to the current RSS, so the next reading is this step's own peak (Linux, root). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** A port on the loopback interface that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
