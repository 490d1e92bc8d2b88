import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot, runsCompiled } from '../config/env.js';

const workflowsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows');

/** Where `npm run build` puts the bundle of the compiled workflows: dist/workflow-bundle.js. */
export const PREBUILT_BUNDLE = path.join(projectRoot, 'dist', 'workflow-bundle.js');
/** The workflows and the modules they bundle: the contracts' schemas and the issue formatter in events/. */
export const BUNDLED_DIRS = [workflowsDir, path.join(workflowsDir, '..', 'contracts'), path.join(workflowsDir, '..', 'events')];

function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  hash.update(readFileSync(require.resolve('@temporalio/workflow/package.json')));
  // This module holds the bundler's options.
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const dir of BUNDLED_DIRS) {
    for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Bundles the workflow code next to this module (sources, or compiled under dist/) with webpack. */
export async function bundleWorkflows(log?: (line: string) => void): Promise<{ code: string }> {
  const quiet = (level: string) => (message: string) => log?.(`bundler ${level}: ${message}`);
  const silent = () => undefined;
  const workflowModule = (name: string) => path.join(workflowsDir, `${name}.${runsCompiled ? 'js' : 'ts'}`);
  return bundleWorkflowCode({
    workflowsPath: workflowModule('index'),
    // Loaded once and shared by every workflow the worker holds, instead of once per workflow: the
    // libraries and contracts (see shared-libraries.ts), and the workflows themselves, whose modules
    // hold nothing of a workflow's own at their top level (the workflow bundle's test keeps it so).
    preloadModules: [workflowModule('shared-libraries'), workflowModule('index')],
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: quiet('warning'), error: quiet('error') },
    // The worker needs the bundle's source map inline, and its workflow thread parses it for stack traces:
    // lines of the sources, without their text (the default map carried all of it, 1.4 MB, parsed in two
    // isolates and into the source-map library's WebAssembly memory, which never shrinks).
    webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-cheap-module-source-map' }),
  });
}

/**
 * The workflow bundle's file. Compiled code uses the one `npm run build` made (no webpack at start-up);
 * from the sources it is built once per change of the workflow code and cached under the data folder,
 * so a restarted worker is polling in about a second instead of re-running webpack. A path rather
 * than the code: a Worker keeps its options for its lifetime, and the code with its source map is
 * ~5.5 MB of the main heap's live data, which every full collection marks again.
 */
export async function loadWorkflowBundle(dataDir: string, log?: (line: string) => void): Promise<{ codePath: string }> {
  if (runsCompiled) {
    if (!existsSync(PREBUILT_BUNDLE)) throw new Error(`${PREBUILT_BUNDLE} is missing: run \`npm run build\``);
    return { codePath: PREBUILT_BUNDLE };
  }
  const cacheDir = path.join(dataDir, 'workflow-bundles');
  const file = path.join(cacheDir, `${sourceFingerprint()}.js`);
  if (existsSync(file)) return { codePath: file };
  log?.('bundling workflow code (cached for later starts)');
  const { code } = await bundleWorkflows(log);
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, code);
  renameSync(partial, file);
  return { codePath: file };
}
