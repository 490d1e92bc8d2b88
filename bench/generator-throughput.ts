import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../config/env.js';
import { startEventApi } from '../generator-api/index.js';

/*
 * How many events per second the event API delivers over SSE, produced as fast as its clients take
 * them (`rate: 'max'`). The server runs in a child process of its own, so the readers here do not
 * share its event loop; the readers are plain HTTP clients that follow the `id:` lines.
 */

export interface GeneratorThroughputOptions {
  /** Seconds measured per phase, after a warm-up; default 5. */
  readonly seconds?: number;
  readonly log?: (line: string) => void;
}

export interface GeneratorThroughput {
  /** Events per second one SSE client receives. */
  readonly one_client_eps: number;
  /** Events per second each of 10 simultaneous SSE clients receives (the slowest of them). */
  readonly ten_clients_eps: number;
}

type ServerCommand = 'pause' | 'resume' | 'close';
type ServerMessage = { type: 'ready'; url: string } | { type: 'done' };

const WARM_UP_MS = 1_000;
const SERVE_FLAG = '--serve-generator-api';
const ID_LINE = Buffer.from('\nid: ');

/** Follows the newest offset a stream has delivered, reading only the last `id:` line of each chunk. */
class OffsetFollower {
  newest = 0;
  ended = false;
  private constructor(private readonly response: http.IncomingMessage) {
    response.on('data', (chunk: Buffer) => {
      const at = chunk.lastIndexOf(ID_LINE);
      const end = at === -1 ? -1 : chunk.indexOf(10, at + ID_LINE.length);
      if (end !== -1) this.newest = Number(chunk.toString('latin1', at + ID_LINE.length, end));
    });
    response.on('close', () => (this.ended = true));
  }

  static open(url: string): Promise<OffsetFollower> {
    return new Promise((resolve, reject) => {
      http.get(`${url}/stream`, (response) => resolve(new OffsetFollower(response))).on('error', reject);
    });
  }

  close(): void {
    this.response.destroy();
  }
}

function startServerProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), [SERVE_FLAG], { cwd: projectRoot, execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the event API process exited early (${code})`)));
    child.on('message', (message: ServerMessage) => message.type === 'ready' && resolve({ child, url: message.url }));
  });
}

function command(child: ChildProcess, what: ServerCommand): void {
  child.send(what);
}

/** Events per second each of `clients` readers receives over `seconds` (the slowest reader counts). */
async function measurePhase(child: ChildProcess, url: string, clients: number, seconds: number): Promise<number> {
  command(child, 'pause');
  const followers = await Promise.all(Array.from({ length: clients }, () => OffsetFollower.open(url)));
  command(child, 'resume');
  await sleep(WARM_UP_MS);
  const before = followers.map((follower) => follower.newest);
  const startedAt = performance.now();
  await sleep(seconds * 1_000);
  const after = followers.map((follower) => follower.newest);
  const elapsed = (performance.now() - startedAt) / 1_000;
  command(child, 'pause');
  const dropped = followers.filter((follower) => follower.ended).length;
  followers.forEach((follower) => follower.close());
  if (dropped > 0) throw new Error(`${dropped} of ${clients} clients were disconnected during the measurement`);
  return Math.round(Math.min(...after.map((newest, i) => newest - before[i]!)) / elapsed);
}

export async function measureGeneratorThroughput(options: GeneratorThroughputOptions = {}): Promise<GeneratorThroughput> {
  const { seconds = 5, log = () => undefined } = options;
  const { child, url } = await startServerProcess();
  try {
    log(`event API in process ${child.pid} at ${url}; ${seconds} s per phase`);
    const one_client_eps = await measurePhase(child, url, 1, seconds);
    log(`1 client: ${one_client_eps.toLocaleString('en')} events/s`);
    const ten_clients_eps = await measurePhase(child, url, 10, seconds);
    log(`10 clients: ${ten_clients_eps.toLocaleString('en')} events/s each`);
    return { one_client_eps, ten_clients_eps };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    command(child, 'close');
    await exited;
  }
}

/** The child side: an event API at full speed, paused and resumed by the parent between phases. */
async function serve(): Promise<void> {
  const api = await startEventApi({ port: 0, seed: 'generator-throughput', rate: 'max', paused: true, retention: 100_000 });
  process.on('message', (message: ServerCommand) => {
    if (message === 'pause') api.pause();
    if (message === 'resume') api.resume();
    if (message === 'close') void api.close().then(() => process.disconnect());
  });
  process.send?.({ type: 'ready', url: api.url } satisfies ServerMessage);
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly && process.argv.includes(SERVE_FLAG)) {
  await serve();
} else if (invokedDirectly) {
  const result = await measureGeneratorThroughput({ log: (line) => console.log(line) });
  const file = path.join(projectRoot, 'bench', 'results', 'generator-throughput.json');
  mkdirSync(path.dirname(file), { recursive: true });
  const record = { ...result, measured_at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`written to ${path.relative(projectRoot, file)}`);
}
