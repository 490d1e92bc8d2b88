import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { projectRoot } from '../../config/env.js';
import { COMPONENT_NODE_FLAGS, WORKER_MALLOC_CONF, componentEnvironment } from '../../stack/node-flags.js';

const composeServices = z.object({ services: z.record(z.string(), z.object({ environment: z.record(z.string(), z.unknown()).optional() })) });

describe('heap bounds', () => {
  it('docker-compose runs the worker and the event API with the same V8 flags as `up`', () => {
    const compose = composeServices.parse(parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }));
    for (const [component, flags] of Object.entries(COMPONENT_NODE_FLAGS)) {
      expect(compose.services[component]?.environment?.NODE_OPTIONS, component).toBe(flags.length > 0 ? flags.join(' ') : undefined);
    }
  });

  it('the image runs on jemalloc as configured for `up`, and `up` gives the worker jemalloc where the machine has it', () => {
    const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`MALLOC_CONF=${WORKER_MALLOC_CONF}\n`);
    expect(dockerfile).toMatch(/LD_PRELOAD=\/usr\/local\/lib\/libjemalloc\.so\.2/);
    expect(componentEnvironment('api', {})).toEqual({});
    expect(componentEnvironment('worker', { LD_PRELOAD: '/opt/other-malloc.so' })).toEqual({});
    // .ci/provision installs libjemalloc2.
    const worker = componentEnvironment('worker', {});
    expect(worker.MALLOC_CONF).toBe(WORKER_MALLOC_CONF);
    expect(worker.LD_PRELOAD).toMatch(/\/libjemalloc\.so\.2$/);
    expect(existsSync(worker.LD_PRELOAD!)).toBe(true);
    expect(componentEnvironment('worker', { MALLOC_CONF: 'narenas:1' }).MALLOC_CONF).toBe('narenas:1');
  });
});
