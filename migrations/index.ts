import type { Migration, MigrationProvider } from 'kysely';
import * as warehouseSchemas from './0001_warehouse_schemas.js';
import * as rawEvents from './0002_raw_events.js';
import * as facts from './0003_facts.js';
import * as staging from './0004_staging.js';
import * as auditLog from './0005_audit_log.js';
import * as reportingViews from './0006_reporting_views.js';
import * as healthFunctions from './0007_health_functions.js';
import * as stagingAnyChildType from './0008_staging_any_child_type.js';
import * as maintenance from './0009_maintenance.js';
import * as rollups from './0010_rollups.js';
import * as streamOwnership from './0011_stream_ownership.js';
import * as streamConsumers from './0012_stream_consumers.js';
import * as healthPerStream from './0013_health_per_stream.js';
import * as sessionPresence from './0014_session_presence.js';
import * as locations from './0015_locations.js';
import * as localTimeRollups from './0016_local_time_rollups.js';
import * as workerPresence from './0017_worker_presence.js';
import * as streamReadMarks from './0018_stream_read_marks.js';

/** The warehouse migrations in order; Kysely records each by this name in `kysely_migration`. */
export const warehouseMigrations: Readonly<Record<string, Migration>> = {
  '0001_warehouse_schemas': warehouseSchemas,
  '0002_raw_events': rawEvents,
  '0003_facts': facts,
  '0004_staging': staging,
  '0005_audit_log': auditLog,
  '0006_reporting_views': reportingViews,
  '0007_health_functions': healthFunctions,
  '0008_staging_any_child_type': stagingAnyChildType,
  '0009_maintenance': maintenance,
  '0010_rollups': rollups,
  '0011_stream_ownership': streamOwnership,
  '0012_stream_consumers': streamConsumers,
  '0013_health_per_stream': healthPerStream,
  '0014_session_presence': sessionPresence,
  '0015_locations': locations,
  '0016_local_time_rollups': localTimeRollups,
  '0017_worker_presence': workerPresence,
  '0018_stream_read_marks': streamReadMarks,
};

/** Lists the migrations statically: no directory scanning, so it works the same from sources or a bundle. */
export const warehouseMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...warehouseMigrations }),
};
