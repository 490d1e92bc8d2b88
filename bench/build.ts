import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../config/env.js';
import { PREBUILT_BUNDLE } from '../worker/workflow-bundle.js';

const buildConfigSchema = z.object({ include: z.array(z.string()) });

/** Newest modification time of the files under `dir`, in ms (0 for a missing folder). */
function newestUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Whether dist/ predates a source it is compiled from (the bundle is the last thing `npm run build` writes). */
function distIsStale(): boolean {
  if (!existsSync(PREBUILT_BUNDLE)) return true;
  const builtAt = statSync(PREBUILT_BUNDLE).mtimeMs;
  const configFiles = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((file) => path.join(projectRoot, file));
  const { include } = buildConfigSchema.parse(JSON.parse(readFileSync(configFiles[1]!, 'utf8')));
  const newestSource = Math.max(...configFiles.map((file) => statSync(file).mtimeMs), ...include.map((dir) => newestUnder(path.join(projectRoot, dir))));
  return newestSource > builtAt;
}

/**
 * The benchmark runs the worker as the image does, from the compiled dist/ of `npm run build`
 * (the TypeScript loader alone costs a source-run worker ~46 MB): this builds it when it is missing
 * or older than a source, and costs a look at the files' times otherwise.
 */
export function ensureBuilt(log: (line: string) => void): void {
  if (!distIsStale()) return;
  log('building dist/ (npm run build): the worker runs compiled, as in the image');
  execFileSync('npm', ['run', 'build'], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}
