import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../config/env.js';

/*
 * `--profile`: where the worker's CPU time and the database's statement time go during the
 * throughput window. The worker runs under `node --cpu-prof`; PostgreSQL loads pg_stat_statements.
 */

export const PROFILE_POSTGRES_SETTINGS = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' };

export interface HotSpot {
  readonly where: string;
  /** Share of the samples in which the process was not idle. */
  readonly selfPercent: number;
}

export interface StatementCost {
  readonly query: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  /** Share of all statement time in the database. */
  readonly percent: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

/** The package (for dependencies) or project file a frame belongs to; V8's own pseudo-frames as they are. */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
  if (dependency) return dependency;
  if (file.startsWith('node:')) return 'node internals';
  return path.relative(projectRoot, file);
}

function top(shares: Map<string, number>, total: number, limit: number): HotSpot[] {
  return [...shares.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([where, hits]) => ({ where, selfPercent: Number(((hits / total) * 100).toFixed(1)) }));
}

export interface CpuProfileSummary {
  /** The V8 thread: 0 is the main thread (activities, SSE, pg); the Temporal SDK runs workflows on others. */
  readonly thread: number;
  /** Share of the window's samples in which the process was busy: roughly the share of a core it used. */
  readonly busyPercent: number;
  readonly byModule: HotSpot[];
  readonly byFunction: HotSpot[];
}

/**
 * Self time by module and by function for each thread's `.cpuprofile` in `dir` (one process's), counting
 * only the samples taken between `fromMs` and `toMs` before its profile ended: the window, not start-up.
 */
export function summariseCpuProfiles(dir: string, window: { fromMs: number; toMs: number }): CpuProfileSummary[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => summarise(path.join(dir, name), Number(name.split('.').at(-3)), window));
}

function summarise(file: string, thread: number, window: { fromMs: number; toMs: number }, limit = 12): CpuProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; endTime: number; startTime: number };
  const from = profile.endTime - window.fromMs * 1000;
  const to = profile.endTime - window.toMs * 1000;
  const hits = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((node, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at >= from && at <= to) hits.set(node, (hits.get(node) ?? 0) + 1);
  });
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const { id, callFrame } of profile.nodes) {
    const hitCount = hits.get(id) ?? 0;
    total += hitCount;
    if (hitCount === 0 || callFrame.functionName === '(idle)') continue;
    busy += hitCount;
    const module = moduleOf(callFrame.url, callFrame.functionName);
    byModule.set(module, (byModule.get(module) ?? 0) + hitCount);
    const fn = `${callFrame.functionName || '(anonymous)'} ${module}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hitCount);
  }
  return {
    thread,
    busyPercent: Number(((busy / Math.max(total, 1)) * 100).toFixed(1)),
    byModule: top(byModule, busy, limit),
    byFunction: top(byFunction, busy, limit),
  };
}

export async function resetStatementStats(pool: pg.Pool): Promise<void> {
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await pool.query('SELECT pg_stat_statements_reset()');
}

/**
 * The statements that took the most time in this database since the last reset. Statements run by
 * triggers and foreign-key checks are listed as nested: their time is also inside the statement that
 * fired them, so shares are of the top-level total.
 */
export async function topStatements(pool: pg.Pool, limit = 12): Promise<StatementCost[]> {
  const { rows } = await pool.query<{ query: string; toplevel: boolean; calls: string; total: number; mean: number; percent: number | null }>(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, toplevel, calls, total_exec_time AS total, mean_exec_time AS mean,
            100 * total_exec_time / nullif(sum(total_exec_time) FILTER (WHERE toplevel) OVER (), 0) AS percent
     FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY total_exec_time DESC LIMIT $1`,
    [limit],
  );
  return rows.map((row) => {
    const query = `${row.toplevel ? '' : '(nested) '}${row.query}`;
    return {
      query: query.length > 120 ? `${query.slice(0, 117)}…` : query,
      calls: Number(row.calls),
      totalMs: Math.round(row.total),
      meanMs: Number(row.mean.toFixed(3)),
      percent: Number((row.percent ?? 0).toFixed(1)),
    };
  });
}
