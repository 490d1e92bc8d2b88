import pg from 'pg';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('test harness', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('harness');
  });
  afterAll(async () => database?.drop());

  it('gives each test file its own PostgreSQL database', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    await client.end();
    expect(rows[0]?.db).toBe(database.name);
  });

  it('runs a Temporal dev server', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
    await connection.close();
    expect(namespaceInfo?.name).toBe('default');
  });
});
