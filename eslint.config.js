// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'dist/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // TypeScript checks names; ESLint's own check does not know Node's globals in the .js files.
      'no-undef': 'off',
      // A long-running worker cannot afford an un-awaited activity, query or write.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, and only the
    // types of activities (their implementations run on the worker, proxied by proxyActivities).
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code runs in a sandbox without Node built-ins' })),
          patterns: [
            { group: ['**/activities/**'], allowTypeImports: true, message: 'workflows may import only the types of activities (proxyActivities)' },
            { group: ['pg', 'kysely', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'], message: 'no I/O in workflow code' },
          ],
        },
      ],
    },
  },
  {
    // Imports run one way, with the data flow (ARCHITECTURE.md): activities never reach up into the
    // clients and processes that drive them; what both sides need lives below both (warehouse/, temporal/).
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/clients/**', '**/stack/**', '**/cli/**', '**/worker/**'], message: 'activities import no clients or processes: move what is shared below both' }] }],
    },
  },
  {
    files: ['clients/**/*.ts', 'stack/**/*.ts', 'cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/activities/**'], message: "clients and the stack do not import activities: move what is shared below both" }] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Assertions on parsed JSON and the harness's async probes read better without these.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
