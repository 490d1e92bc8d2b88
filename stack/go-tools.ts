import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LineSink } from './child-process.js';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export class GoToolUnavailable extends Error {
  override name = 'GoToolUnavailable';
}

export function findGo(): string | undefined {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Runs `go` with the project's module settings; resolves with its exit code and its whole output. */
export async function runGo(go: string, args: string[], env: Record<string, string>, onChunk: (text: string) => void = () => undefined): Promise<{ code: number | null; output: string }> {
  const child = spawn(go, args, { env: { ...process.env, GOFLAGS: process.env.GOFLAGS ?? '-mod=mod', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    onChunk(chunk.toString());
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

const lastLines = (output: string) => output.trim().split('\n').slice(-20).join('\n');

export interface GoInstallOptions {
  /** What is built, for the progress lines ("the Temporal CLI"). */
  readonly what: string;
  /** `module/path/cmd@version` arguments of one `go install`. */
  readonly modules: readonly string[];
  /** GOBIN: where the binaries land. */
  readonly binDir: string;
  readonly toolsDir: string;
  readonly sink: LineSink;
  /** The error when Go itself is missing: what else the user can do. */
  readonly missingGo: string;
}

/** Builds Go commands with `go install` into binDir (a few minutes cold), reporting progress every 15 s. */
export async function goInstall(options: GoInstallOptions): Promise<void> {
  const { what, modules, binDir, toolsDir, sink } = options;
  const go = findGo();
  if (!go) throw new GoToolUnavailable(options.missingGo);
  mkdirSync(binDir, { recursive: true });
  sink(`building ${what} once with \`go install ${modules.join(' ')}\` (takes a few minutes; cached in ${toolsDir})`);
  const started = Date.now();
  let packages = 0;
  const progress = setInterval(() => sink(`  … still building ${what}: ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages so far`), 15_000);
  const { code, output } = await runGo(go, ['install', '-v', ...modules], { GOBIN: binDir }, (text) => {
    packages += text.split('\n').filter((line) => line && !line.startsWith('go: ')).length;
  }).finally(() => clearInterval(progress));
  if (code !== 0) throw new GoToolUnavailable(`building ${what} failed (exit ${code}):\n${lastLines(output)}`);
  sink(`built ${what} in ${Math.round((Date.now() - started) / 1000)} s: ${binDir}`);
}
