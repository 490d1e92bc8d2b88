import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../config/env.js';

const workflowsDir = path.join(projectRoot, 'workflows');
const BUNDLED_DIRS = [workflowsDir, path.join(projectRoot, 'contracts'), path.join(projectRoot, 'events')];

function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  hash.update(readFileSync(require.resolve('@temporalio/workflow/package.json')));
  // The workflows and the modules they bundle (contracts' schemas, the issue formatter).
  for (const dir of BUNDLED_DIRS) {
    for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The workflow bundle, built once per change of the workflow sources and cached under the data
 * folder: a restarted worker is polling in about a second instead of re-running webpack.
 */
export async function loadWorkflowBundle(dataDir: string, log?: (line: string) => void): Promise<{ code: string }> {
  const cacheDir = path.join(dataDir, 'workflow-bundles');
  const file = path.join(cacheDir, `${sourceFingerprint()}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  log?.('bundling workflow code (cached for later starts)');
  const quiet = (level: string) => (message: string) => log?.(`bundler ${level}: ${message}`);
  const silent = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(workflowsDir, 'index.ts'),
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: quiet('warning'), error: quiet('error') },
  });
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, code);
  renameSync(partial, file);
  return { code };
}
