import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_CLUSTER_ROOT, startEmbeddedPostgres, type EmbeddedPostgres } from '../../stack/embedded-postgres.js';

const asRoot = process.getuid?.() === 0;

// Only root runs PostgreSQL as another user (postgres), so only root meets the private-folder problem.
describe.runIf(asRoot)('the embedded PostgreSQL started by root from a private folder', () => {
  const privateFolder = mkdtempSync(path.join(os.tmpdir(), 'private-checkout-'));
  let postgres: EmbeddedPostgres | undefined;
  const lines: string[] = [];
  afterAll(async () => {
    await postgres?.stop();
    const moved = /cluster lives in (\S+) instead/.exec(lines.join('\n'))?.[1];
    if (moved) rmSync(path.dirname(moved), { recursive: true, force: true });
    rmSync(privateFolder, { recursive: true, force: true });
  });

  it('runs its cluster where the postgres user can reach it, and says where', async () => {
    expect(statSync(privateFolder).mode & 0o777).toBe(0o700);
    postgres = await startEmbeddedPostgres({ clusterDir: path.join(privateFolder, '.data', 'postgres'), preferredPort: 0, sink: (line) => lines.push(line), settings: { fsync: 'off' } });
    const client = new pg.Client({ connectionString: postgres.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    await client.end();
    expect(rows[0]!.data_directory.startsWith(`${SHARED_CLUSTER_ROOT}/`)).toBe(true);
    expect(lines).toContainEqual(expect.stringContaining(`the postgres system user cannot reach ${path.join(privateFolder, '.data')}: the cluster lives in ${rows[0]!.data_directory} instead`));
  });
});
