import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { requireSystemTool } from '../support/system-tools.js';
import { alertRules, dashboard, metricNames, monitoringExpressions } from '../support/monitoring.js';

/*
 * deploy/prometheus and deploy/grafana: the configuration and rules pass promtool's checks, the alerts
 * fire (and stay quiet) as alerts.test.yml says, and the dashboard is a provisionable Grafana dashboard.
 * That every metric they read is really exported is checked against a live worker and event API in
 * compose-topology.test.ts.
 */

const run = promisify(execFile);
const prometheusDir = path.join(projectRoot, 'deploy', 'prometheus');

async function promtool(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: prometheusDir });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, { cause: error });
  }
}

describe('alerting and dashboards', () => {
  beforeAll(() => requireSystemTool('promtool', 'prometheus'));

  it('has a valid Prometheus configuration that loads the alert rules', async () => {
    expect(await promtool(['check', 'config', 'prometheus.yml'])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('alerts on a stalled or starved stream, lag, rejected events, a worker down and failing maintenance', () => {
    expect(alertRules().map((rule) => rule.alert).toSorted()).toEqual(
      [
        'RestaurantStreamStalled',
        'RestaurantStreamStarved',
        'RestaurantSourceNotIngested',
        'RestaurantIngestLagHigh',
        'RestaurantIngestBacklogHigh',
        'RestaurantRejectedEventsRising',
        'RestaurantWorkerDown',
        'RestaurantNoWorker',
        'RestaurantMaintenanceFailing',
        'RestaurantMaintenanceNotRunning',
      ].toSorted(),
    );
    for (const rule of alertRules()) expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
  });

  it('passes the rules’ unit tests (promtool test rules)', async () => {
    expect(await promtool(['test', 'rules', 'alerts.test.yml'])).toContain('SUCCESS');
  });

  it('has a Grafana dashboard on the provisioned Prometheus data source, every panel with a query', () => {
    const board = dashboard();
    expect(board.uid).toBe('restaurant-worker');
    const queried = board.panels.filter((panel) => 'targets' in panel);
    expect(queried.length).toBeGreaterThan(10);
    for (const panel of queried) expect(panel.datasource.uid, panel.title).toBe('restaurant-prometheus');
  });

  it('reads metrics by name in every expression (no typo hides in a function or a label)', () => {
    for (const { at, expr } of monitoringExpressions()) {
      const names = metricNames(expr);
      expect(names.length, at).toBeGreaterThan(0);
      for (const name of names) expect(name, at).toMatch(/^(restaurant_ingest_|restaurant_api_|temporal_|up$)/);
    }
  });
});
