/**
 * The Worker's isolate under `wrangler dev`, over the workerd runtime's inspector (Chrome
 * DevTools Protocol): for the benchmarks' V8 profiles and for telling which bundled module
 * each sample ran in.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** `Profiler.stop`'s answer, the parts used here. */
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

type Answer = { result?: unknown; error?: { message: string } };

/** A Chrome DevTools Protocol session with the isolate, over Node's WebSocket. */
export class Inspector {
  private next = 0;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private closed = false;
  private readonly socket: WebSocket;
  /** Script ids to URLs, as reported once the debugger is enabled. */
  readonly scripts = new Map<string, string>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as Answer & { id?: number; method?: string; params?: unknown };
      if (message.method === 'Debugger.scriptParsed') {
        const { scriptId, url } = message.params as { scriptId: string; url: string };
        this.scripts.set(scriptId, url);
      }
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    // A restarted runtime (wrangler reloads on file changes) closes the socket: fail, do not hang.
    socket.addEventListener('close', () => {
      this.closed = true;
      for (const settle of this.waiting.values()) settle({ error: { message: 'the inspector closed the connection' } });
      this.waiting.clear();
    });
  }

  /**
   * workerd's inspector serves one session per isolate and wrangler's inspector proxy already
   * holds one: the first new connection displaces it without being answered (or is closed),
   * the next one works. Wrangler does not reconnect its own until the Worker reloads.
   */
  static async connect(url: string, onRetry?: (message: string) => void): Promise<Inspector> {
    for (let attempt = 1; ; attempt++) {
      const socket = new WebSocket(url);
      await new Promise((resolve, reject) => {
        socket.addEventListener('open', resolve, { once: true });
        socket.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
      });
      const inspector = new Inspector(socket);
      try {
        await inspector.send('Profiler.enable', {}, 3000);
        return inspector;
      } catch (error) {
        inspector.close();
        if (attempt === 4) throw error;
        onRetry?.(`inspector attempt ${attempt} failed (${(error as Error).message}); again`);
      }
    }
  }

  send<T>(method: string, params: object = {}, timeoutMs = 120_000): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${method}: the inspector closed the connection`));
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      // The timer also keeps Node's event loop alive while the answer is due.
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.error) reject(new Error(`${method}: ${answer.error.message}`));
        // workerd answers a command with an empty result without a `result` field.
        else resolve((answer.result ?? {}) as T);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** The Worker's name, which names its inspector target (`core:user:<name>`). */
const WORKER_NAME = readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8').match(/^name\s*=\s*"([^"]+)"/m)![1]!;

/**
 * The inspector of the workerd process that runs the Worker. It listens on a port of its own
 * choosing (`--inspector-addr=127.0.0.1:0`), so ask each port the process listens on for
 * `/json`, in the order the sockets were opened: the inspector's comes before the
 * Cap'n Proto debug port's, which would log a broken RPC connection for an HTTP request.
 */
export async function inspectorUrl(pid: number): Promise<string> {
  const fdOfInode = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1];
      if (inode && !fdOfInode.has(inode)) fdOfInode.set(inode, Number(fd));
    } catch {
      /* closed meanwhile */
    }
  }
  const ports = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && fdOfInode.has(fields[9]!))
    .sort((a, b) => fdOfInode.get(a[9]!)! - fdOfInode.get(b[9]!)!)
    .map((fields) => parseInt(fields[1]!.split(':')[1]!, 16));
  for (const candidate of ports) {
    try {
      const response = await fetch(`http://127.0.0.1:${candidate}/json`, { signal: AbortSignal.timeout(2000) });
      const targets = (await response.json()) as { id: string; webSocketDebuggerUrl: string }[];
      const worker = targets.find?.((target) => target.id === `core:user:${WORKER_NAME}`);
      if (worker) return worker.webSocketDebuggerUrl;
    } catch {
      /* not the inspector */
    }
  }
  throw new Error(
    `no inspector found on the ports of workerd ${pid} (${ports.join(', ')}); did wrangler restart the runtime after a file change?`,
  );
}

/** esbuild's helpers before the first module. */
export const BUNDLE_PRELUDE = '(bundle prelude)';

/** One of wrangler's bundles as the isolate runs it. */
export interface Bundle {
  lines: string[];
  /** The module a line came from (`src/…`, `node_modules/…`), by esbuild's `// path` comments; BUNDLE_PRELUDE before the first. */
  moduleOf(line: number): string;
}

/**
 * Wrangler's bundles among the isolate's scripts, by script id. Their text comes from the
 * isolate, so it is the code that ran even if wrangler has rebuilt since. Call it once
 * profiling is over: it turns the debugger on while it reads.
 */
export async function readBundles(inspector: Inspector): Promise<Map<string, Bundle>> {
  await inspector.send('Debugger.enable');
  const bundles = new Map<string, Bundle>();
  for (const [scriptId, url] of inspector.scripts) {
    if (!/\.wrangler\/tmp\/.*\.js$/.test(url)) continue;
    const { scriptSource } = await inspector.send<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId });
    bundles.set(scriptId, bundleOf(scriptSource));
  }
  await inspector.send('Debugger.disable');
  return bundles;
}

function bundleOf(source: string): Bundle {
  const lines = source.split('\n');
  const starts: { line: number; module: string }[] = [];
  lines.forEach((text, line) => {
    const path = text.match(/^\/\/ ((?:\.\.\/)*[\w@.\-/]+\.(?:[cm]?[jt]sx?|wasm))$/)?.[1];
    if (!path) return;
    // node_modules may be a link to another checkout's, which esbuild names by its real path.
    const module = path.includes('node_modules/') ? `node_modules/${path.split('node_modules/').pop()}` : path.replace(/^(\.\.\/)+/, '');
    starts.push({ line, module });
  });
  const moduleOf = (line: number) => {
    let [low, high] = [0, starts.length - 1];
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]!.line <= line) low = mid;
      else high = mid - 1;
    }
    return starts[low] && starts[low]!.line <= line ? starts[low]!.module : BUNDLE_PRELUDE;
  };
  return { lines, moduleOf };
}
