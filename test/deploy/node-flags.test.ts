import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { projectRoot } from '../../config/env.js';
import { COMPONENT_NODE_FLAGS } from '../../stack/node-flags.js';

const composeServices = z.object({ services: z.record(z.string(), z.object({ environment: z.record(z.string(), z.unknown()).optional() })) });

describe('heap bounds', () => {
  it('docker-compose runs the worker and the event API with the same V8 flags as `up`', () => {
    const compose = composeServices.parse(parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }));
    for (const [component, flags] of Object.entries(COMPONENT_NODE_FLAGS)) {
      expect(compose.services[component]?.environment?.NODE_OPTIONS, component).toBe(flags.length > 0 ? flags.join(' ') : undefined);
    }
  });
});
