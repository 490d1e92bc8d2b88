import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { loadWorkflowBundle } from '../../worker/workflow-bundle.js';

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

describe('the workflow bundle', () => {
  it('shares zod and the contracts between workflows instead of loading them again for each workflow a worker holds', async () => {
    const { codePath } = await loadWorkflowBundle(loadConfig().DATA_DIR);
    const { own, shared } = modulesPerWorkflow(readFileSync(codePath, 'utf8'));
    expect(own.some((id) => id.includes('/workflows/'))).toBe(true);
    expect(own.filter((id) => id.includes('node_modules/zod/') || id.includes('/contracts/'))).toEqual([]);
    expect(shared.some((id) => id.includes('node_modules/zod/'))).toBe(true);
    expect(shared.filter((id) => id.includes('/contracts/')).sort()).toEqual(['./contracts/ingestion.ts', './contracts/reprocess.ts', './contracts/source-credentials.ts']);
  });
});
