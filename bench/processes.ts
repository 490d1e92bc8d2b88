import type { StdioOptions } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../config/env.js';
import type { EventApiOptions, Rate } from '../generator-api/index.js';
import { spawnSupervised, type SupervisedChild } from '../stack/child-process.js';
import { COMPONENT_NODE_FLAGS, componentEnvironment } from '../stack/node-flags.js';
import { findFreePort } from '../stack/ports.js';
import { peakRssMb } from './proc-stats.js';

const CLI = path.join(projectRoot, 'bin', 'restaurant-stack.js');
const API_CHILD = fileURLToPath(new URL('./api-child.ts', import.meta.url));

const logFileOf = (runDir: string, name: string) => path.join(runDir, 'logs', `${name}.log`);

/** A line sink appending to `<runDir>/logs/<name>.log`, where every process of a run leaves its output. */
export function runLog(runDir: string, name: string): (line: string) => void {
  mkdirSync(path.join(runDir, 'logs'), { recursive: true });
  const stream = createWriteStream(logFileOf(runDir, name));
  return (line) => stream.write(`${line}\n`);
}

export type Role = 'api' | 'worker';

/** One of our Node components in its own process, its peak memory followed while it lives. */
export class MeasuredProcess {
  private peak = 0;
  private readonly sampler: NodeJS.Timeout;
  /** performance.now() when the process ended. */
  exitedAt: number | undefined;

  constructor(
    readonly role: Role,
    readonly child: SupervisedChild,
  ) {
    this.sampler = setInterval(() => this.sample(), 1_000);
    void child.exited.then(() => {
      this.exitedAt = performance.now();
      clearInterval(this.sampler);
    });
  }

  get pid(): number {
    return this.child.process.pid ?? 0;
  }

  /** VmHWM, the kernel's high-water mark: a read just before the process ends covers its whole life. */
  get peakRssMb(): number {
    this.sample();
    return this.peak;
  }

  async stop(): Promise<void> {
    this.sample();
    const stopped = this.child.stop('SIGTERM', 15_000);
    // A worker keeps reading its stdin lifeline after it has stopped (cli/lifecycle.ts): end the pipe too,
    // or it stays alive until the grace period ends in SIGKILL.
    this.child.process.stdin?.end();
    await stopped;
  }

  async kill(): Promise<void> {
    this.sample();
    this.child.process.kill('SIGKILL');
    await this.child.exited;
  }

  private sample(): void {
    // Once it has exited its pid may belong to another process.
    if (this.exitedAt !== undefined) return;
    const rss = peakRssMb(this.pid);
    if (rss !== undefined) this.peak = Math.max(this.peak, rss);
  }
}

export type ApiChildCommand = 'pause' | 'resume';
export type ApiChildReport = { type: 'ready'; url: string } | { type: 'head'; head: number };

/** The event API child: its URL, its newest offset (reported every 50 ms), and production control. */
export class ApiProcess {
  url = '';
  head = 0;
  readonly ready: Promise<void>;

  constructor(readonly measured: MeasuredProcess) {
    const ipc = measured.child.process;
    this.ready = new Promise((resolve) => {
      ipc.on('message', (report: ApiChildReport) => {
        if (report.type === 'head') this.head = report.head;
        if (report.type === 'ready') {
          this.url = report.url;
          resolve();
        }
      });
    });
  }

  pause(): void {
    this.send('pause');
  }

  resume(): void {
    this.send('resume');
  }

  private send(command: ApiChildCommand): void {
    const ipc = this.measured.child.process;
    if (ipc.connected) ipc.send(command);
  }
}

export interface ApiSpec {
  readonly seed: string;
  /** Start without producing (a governor resumes it). */
  readonly paused?: boolean;
  readonly rate: Rate;
  readonly maxEvents?: number;
  readonly clock?: 'wall' | 'simulated';
  readonly simulatedStart?: string;
}

/** `restaurant-stack api --feeds N`: many quiet feeds from one process. */
export interface FeedsSpec {
  readonly feeds: number;
  /** Events per second of each feed. */
  readonly rate: number;
  readonly seed: string;
}

export interface WorkerSpec {
  readonly databaseUrl: string;
  readonly temporalAddress: string;
  readonly taskQueue: string;
  /** Write a V8 CPU profile of the worker here when it exits. */
  readonly cpuProfileDir?: string;
}

/**
 * Starts the event API (bench/api-child.ts: `startEventApi` as `restaurant-stack api` runs it, with an
 * IPC channel) and `restaurant-stack worker` exactly as an operator would, each with its log in the
 * run folder, and remembers every process so the peak memory of each role can be told.
 */
export class BenchProcesses {
  private readonly started: MeasuredProcess[] = [];
  private count = 0;

  constructor(
    private readonly runDir: string,
    /** DATA_DIR for workers. */
    private readonly dataDir: string,
  ) {}

  async startApi(spec: ApiSpec): Promise<ApiProcess> {
    const name = this.nextName('api');
    const options: EventApiOptions = {
      port: 0,
      seed: spec.seed,
      rate: spec.rate,
      maxEvents: spec.maxEvents,
      // The API's default retention, or every event of a longer bounded run (its ground truth).
      retention: Math.max(100_000, spec.maxEvents ?? 0),
      clock: spec.clock,
      simulatedStart: spec.simulatedStart,
      paused: spec.paused,
      // A folder of its own: the head offset a seeded source keeps would otherwise continue an earlier run.
      dataDir: path.join(this.runDir, name),
    };
    const measured = this.spawn('api', name, ['--import', 'tsx', API_CHILD, JSON.stringify(options)], {}, ['ignore', 'pipe', 'pipe', 'ipc']);
    const api = new ApiProcess(measured);
    await Promise.race([
      api.ready,
      measured.child.exited.then((outcome) => {
        throw new Error(`the event API exited (${outcome}); see ${logFileOf(this.runDir, name)}`);
      }),
    ]);
    return api;
  }

  /**
   * `restaurant-stack api --feeds N` exactly as a user runs it (compiled, like the worker), with
   * timestamps from the wall clock so a row's `ts` says when its event was emitted; resolves with the
   * API's base URL once it listens.
   */
  async startFeeds(spec: FeedsSpec): Promise<{ measured: MeasuredProcess; url: string }> {
    const name = this.nextName('api');
    let listening: (url: string) => void = () => undefined;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const args = ['--feeds', String(spec.feeds), '--rate', String(spec.rate), '--seed', spec.seed, '--clock', 'wall', '--port', String(await findFreePort())];
    const measured = this.spawn(
      'api',
      name,
      [CLI, 'api', ...args, '--data-dir', path.join(this.runDir, name)],
      { RESTAURANT_STACK_COMPILED: '1', LOG_LEVEL: 'info', API_TOKEN: '' },
      ['ignore', 'pipe', 'pipe'],
      (line) => {
        const match = line.includes('restaurant event API listening') ? /"url":"([^"]+)"/.exec(line) : null;
        if (match) listening(match[1]!);
      },
    );
    return {
      measured,
      url: await Promise.race([
        url,
        measured.child.exited.then((outcome): string => {
          throw new Error(`the event API exited (${outcome}); see ${logFileOf(this.runDir, name)}`);
        }),
      ]),
    };
  }

  /** Starts a worker; `ready` settles once it polls its task queue; `metricsUrl` is its Prometheus endpoint. */
  async startWorker(spec: WorkerSpec): Promise<{ process: MeasuredProcess; ready: Promise<void>; metricsUrl: string }> {
    const name = this.nextName('worker');
    const metricsPort = await findFreePort();
    const nodeArgs = spec.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', spec.cpuProfileDir] : [];
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const measured = this.spawn(
      'worker',
      name,
      [...nodeArgs, CLI, 'worker'],
      {
        DATABASE_URL: spec.databaseUrl,
        TEMPORAL_ADDRESS: spec.temporalAddress,
        TEMPORAL_TASK_QUEUE: spec.taskQueue,
        DATA_DIR: this.dataDir,
        // As the image runs it: the compiled dist/ (BenchEnvironment builds it), no TypeScript loader.
        RESTAURANT_STACK_COMPILED: '1',
        LOG_LEVEL: 'info',
        // Its metrics endpoint stays on, as in production, but on a port no other worker holds.
        METRICS_PORT: String(metricsPort),
        // Its stdin pipe is a lifeline, as under `up`: the worker stops if this run dies without stopping it.
        RESTAURANT_STACK_SUPERVISED: '1',
      },
      ['pipe', 'pipe', 'pipe'],
      (line) => line.includes('"msg":"worker polling"') && markReady(),
    );
    return { process: measured, ready, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  }

  /** How many processes have been started so far: pass it to `peakRssMb` for the peak of later ones. */
  mark(): number {
    return this.started.length;
  }

  /** The highest peak RSS of the processes of `role` started since `mark`, in MiB. */
  peakRssMb(role: Role, since = 0): number | undefined {
    const peaks = this.started
      .slice(since)
      .filter((process) => process.role === role)
      .map((process) => process.peakRssMb);
    return peaks.length === 0 ? undefined : Number(Math.max(...peaks).toFixed(1));
  }

  /** Stops whatever is still running (after a failed phase). */
  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((process) => process.stop()));
  }

  private nextName(role: Role): string {
    this.count += 1;
    return `${role}-${this.count}`;
  }

  private spawn(role: Role, name: string, args: string[], env: Record<string, string>, stdio?: StdioOptions, onLine?: (line: string) => void): MeasuredProcess {
    const log = runLog(this.runDir, name);
    // The V8 flags and allocator `up` gives these components, so their memory is measured as deployed.
    const child = spawnSupervised(name, process.execPath, [...COMPONENT_NODE_FLAGS[role], ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...componentEnvironment(role), ...env },
      ...(stdio ? { stdio } : {}),
      sink: (line) => {
        log(line);
        onLine?.(line);
      },
    });
    const measured = new MeasuredProcess(role, child);
    this.started.push(measured);
    return measured;
  }
}
