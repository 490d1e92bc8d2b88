import os from 'node:os';
import pg from 'pg';

export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  /** The server's version and the settings that decide write speed. */
  readonly postgres: Record<string, string>;
}

const POSTGRES_SETTINGS = ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout'];

export async function describeMachine(serverUrl: string): Promise<MachineDescription> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; value: string }>(
      `SELECT name, setting || coalesce(' ' || unit, '') AS value FROM pg_settings WHERE name = ANY($1) ORDER BY name`,
      [POSTGRES_SETTINGS],
    );
    return {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: Object.fromEntries(rows.map((row) => [row.name, row.value])),
    };
  } finally {
    await client.end();
  }
}
