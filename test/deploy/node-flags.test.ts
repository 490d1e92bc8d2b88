import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { COMPONENT_NODE_FLAGS } from '../../stack/node-flags.js';

describe('heap bounds', () => {
  it('docker-compose runs the worker and the event API with the same bounds as `up`', () => {
    const compose = readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8');
    for (const flags of Object.values(COMPONENT_NODE_FLAGS)) expect(compose).toContain(`NODE_OPTIONS: ${flags.join(' ')}`);
  });
});
