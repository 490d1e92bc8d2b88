#!/usr/bin/env node
// In a development checkout (TypeScript sources and tsx present) the CLI runs the sources, so there is
// no build to forget; an image or an install runs the compiled dist/ of `npm run build`.
// RESTAURANT_STACK_COMPILED=1 runs dist/ even in a checkout (its children inherit the choice).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const sources = new URL('cli/main.ts', root);

function tsxAvailable() {
  try {
    createRequire(import.meta.url).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

if (process.env.RESTAURANT_STACK_COMPILED !== '1' && existsSync(sources) && tsxAvailable()) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error('restaurant-stack: not built: run `npm run build` first (dist/cli/main.js is missing)');
  process.exit(2);
}
