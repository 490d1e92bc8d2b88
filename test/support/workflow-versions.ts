import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig, projectRoot } from '../../config/env.js';

/**
 * The workflow code as it was at a past commit, bundled: a worker running it plays a deployment that has
 * not been upgraded yet. The sources come from git (`workflows/` and the `contracts/` they import), are
 * unpacked under the data folder (so node_modules resolves) and bundled once per commit.
 */
export async function workflowBundleAt(commit: string): Promise<{ code: string }> {
  const dir = path.join(loadConfig().DATA_DIR, 'workflow-versions', commit);
  const cached = path.join(dir, 'bundle.js');
  if (existsSync(cached)) return { code: readFileSync(cached, 'utf8') };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', commit, 'workflows', 'contracts'], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  const silent = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(dir, 'workflows', 'index.ts'),
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent },
  });
  writeFileSync(cached, code);
  return { code };
}

/** The last commit before the exactly-once hardening: no patches, unserialised checkpoint access. */
export const BEFORE_PATCHES = '00f028c55089ab46ea04140ebc59f6970bc812ab';
