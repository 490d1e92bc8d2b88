import { cpSync, existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { LineSink } from '../../stack/child-process.js';
import { findGo, goInstall, GoToolUnavailable, isExecutable, runGo } from '../../stack/go-tools.js';

/** The server release of docker-compose.yml's `temporalio/server` and `temporalio/admin-tools` images. */
export const TEMPORAL_SERVER_VERSION = 'v1.25.2';
const SERVER_MODULE = 'go.temporal.io/server';

export interface TemporalServerTools {
  /** `temporal-server`, as the server image runs it. */
  readonly server: string;
  /** Folder with `temporal-sql-tool` (and `temporal-server`), to put on PATH as the admin-tools image has them. */
  readonly binDir: string;
  /** The admin-tools image's /etc/temporal/schema/postgresql/v12. */
  readonly postgresSchemaDir: string;
}

/**
 * The Temporal server and its SQL tool, built from Go into the tools folder once (several minutes
 * cold), with the PostgreSQL schema folder copied beside them from the module.
 */
export async function resolveTemporalServerTools(toolsDir: string, sink: LineSink): Promise<TemporalServerTools> {
  const home = path.join(toolsDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const binDir = path.join(home, 'bin');
  const tools: TemporalServerTools = {
    server: path.join(binDir, 'temporal-server'),
    binDir,
    postgresSchemaDir: path.join(home, 'schema', 'postgresql', 'v12'),
  };
  if (isExecutable(tools.server) && isExecutable(path.join(binDir, 'temporal-sql-tool')) && existsSync(tools.postgresSchemaDir)) return tools;

  await goInstall({
    what: `the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool`,
    modules: [`${SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
    binDir,
    toolsDir,
    sink,
    missingGo: 'the compose topology test builds the Temporal server and temporal-sql-tool with Go, which is not installed (https://go.dev/dl)',
  });
  // The names the images give them.
  for (const [built, named] of [['server', 'temporal-server'], ['sql', 'temporal-sql-tool']] as const) {
    if (!existsSync(path.join(binDir, named))) symlinkSync(built, path.join(binDir, named));
  }
  const go = findGo()!;
  const download = await runGo(go, ['mod', 'download', '-json', `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`], {});
  const moduleDir = download.code === 0 ? (JSON.parse(download.output) as { Dir?: string }).Dir : undefined;
  if (!moduleDir) throw new GoToolUnavailable(`could not locate the ${SERVER_MODULE} module's schema folder:\n${download.output}`);
  cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), tools.postgresSchemaDir, { recursive: true });
  return tools;
}
