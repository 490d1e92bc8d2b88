import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

export type LineSink = (line: string) => void;

export interface SupervisedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Settles with the exit code (or the signal's name) when the process has gone. */
  readonly exited: Promise<number | string>;
  /** Sends `signal`, then SIGKILL after `graceMs`, and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

/** The component name as a fixed-width, coloured prefix, so interleaved logs stay readable. */
export function prefixedSink(name: string, colour: number, write = (s: string) => process.stdout.write(s)): LineSink {
  const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
  const label = name.padEnd(9);
  const prefix = useColour ? `\u001b[${colour}m${label}|\u001b[0m ` : `${label}| `;
  return (line) => write(`${prefix}${line}\n`);
}

export function spawnSupervised(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { sink: LineSink },
): SupervisedChild {
  const { sink, ...spawnOptions } = options;
  // Its own process group by default: a terminal's Ctrl-C (or `timeout`) reaches only our process,
  // which then stops the children in order instead of all at once.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...spawnOptions });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', sink);
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      sink(`failed to start ${command}: ${error.message}`);
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    name,
    process: child,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        timer.unref();
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}
