import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';
import { BUNDLED_DIRS, loadWorkflowBundle } from '../../worker/workflow-bundle.js';

/**
 * Loads the worker's workflow bundle as the SDK's reusable V8 context does: modules loaded while the
 * bundle preloads land in one shared cache, modules loaded once a workflow exists in that workflow's
 * own. Returns the modules one workflow loads for itself.
 */
function modulesPerWorkflow(code: string): { own: string[]; shared: string[] } {
  const shared = new Map<PropertyKey, unknown>();
  let workflow: Map<PropertyKey, unknown> | undefined = undefined;
  const moduleCache = new Proxy(
    {},
    {
      get: (_, id) => shared.get(id) ?? workflow?.get(id),
      set: (_, id, module) => {
        (workflow ?? shared).set(id, module);
        return true;
      },
    },
  );
  const context = vm.createContext({ TextEncoder, TextDecoder, URL, URLSearchParams, AbortController, console });
  Object.defineProperty(context, '__webpack_module_cache__', { value: moduleCache });
  vm.runInContext(code, context);
  vm.runInContext('__TEMPORAL__.preloadModules?.()', context);
  workflow = new Map();
  vm.runInContext('__TEMPORAL__.importWorkflows()', context);
  return { own: [...workflow.keys()].map(String), shared: [...shared.keys()].map(String) };
}

/** The modules the bundle may take from this project: the workflows and what they import of ours. */
const OWN_BUNDLED = BUNDLED_DIRS.flatMap((dir) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.relative(projectRoot, path.join(dir, file))),
);

describe('the workflow bundle', () => {
  it('loads every module once for all the workflows a worker holds: zod, the contracts and the workflows themselves', async () => {
    const { codePath } = await loadWorkflowBundle(loadConfig().DATA_DIR);
    const { own, shared } = modulesPerWorkflow(readFileSync(codePath, 'utf8'));
    expect(own).toEqual([]);
    expect(shared.some((id) => id.includes('node_modules/zod/'))).toBe(true);
    expect(shared.filter((id) => id.includes('/contracts/')).sort()).toEqual(['./contracts/ingestion.ts', './contracts/reprocess.ts', './contracts/source-credentials.ts']);
    expect(shared).toEqual(expect.arrayContaining(['./workflows/index.ts', './workflows/stream-ingestion.ts', './node_modules/@temporalio/workflow/lib/index.js']));
  });

  it('keeps no state at the top of a bundled module of ours: what every workflow shares must not change', () => {
    // The SDK deep-freezes what it shares, so a write into a shared object throws; a top-level `let`
    // or `var` would not, and one workflow would see what another left there.
    const mutable = OWN_BUNDLED.flatMap((file) => {
      const source = ts.createSourceFile(file, readFileSync(path.join(projectRoot, file), 'utf8'), ts.ScriptTarget.Latest);
      return source.statements
        .filter((statement) => ts.isVariableStatement(statement) && !(statement.declarationList.flags & ts.NodeFlags.Const))
        .map((statement) => `${file}: ${statement.getText(source).split('\n')[0]}`);
    });
    expect(mutable).toEqual([]);
  });
});
