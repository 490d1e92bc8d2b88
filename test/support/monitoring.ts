import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../config/env.js';
import { parseYaml } from './compose.js';

export const ALERT_RULES_FILE = path.join(projectRoot, 'deploy', 'prometheus', 'alerts.yml');
export const DASHBOARD_FILE = path.join(projectRoot, 'deploy', 'grafana', 'dashboards', 'restaurant-worker.json');

const rulesSchema = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(z.object({ alert: z.string(), expr: z.string(), for: z.string().optional(), labels: z.record(z.string(), z.string()) })) })),
});

const target = z.object({ expr: z.string().min(1), refId: z.string(), datasource: z.object({ type: z.literal('prometheus'), uid: z.string() }) });
export const dashboardSchema = z.object({
  uid: z.string(),
  title: z.string(),
  panels: z.array(
    z.union([
      z.object({ type: z.literal('row'), title: z.string() }),
      z.object({ type: z.enum(['timeseries', 'stat']), title: z.string(), datasource: z.object({ type: z.literal('prometheus'), uid: z.string() }), targets: z.array(target).min(1) }),
    ]),
  ),
});

export const alertRules = () => rulesSchema.parse(parseYaml(readFileSync(ALERT_RULES_FILE, 'utf8'), ALERT_RULES_FILE)).groups.flatMap((group) => group.rules);
export const dashboard = () => dashboardSchema.parse(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));

/** Every PromQL expression of the alert rules and the dashboard, with where it is. */
export function monitoringExpressions(): Array<{ at: string; expr: string }> {
  return [
    ...alertRules().map((rule) => ({ at: `alert ${rule.alert}`, expr: rule.expr })),
    ...dashboard().panels.flatMap((panel) => ('targets' in panel ? panel.targets.map((t) => ({ at: `panel "${panel.title}" ${t.refId}`, expr: t.expr })) : [])),
  ];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels, strings or durations. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [match[0].replace(/\s*\($/, ''), match[1]];
    if (!call && !KEYWORDS.has(token.toLowerCase())) names.add(token);
  }
  return [...names];
}

/** Labels that Prometheus adds (job, instance) or that histograms carry (le): not the exporters' own. */
const SCRAPE_LABELS = new Set(['job', 'instance', 'le']);

/** The labels a PromQL expression groups by or matches on, other than the ones Prometheus adds. */
export function labelNames(expr: string): string[] {
  const names = new Set<string>();
  for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) for (const name of list!.split(',')) names.add(name.trim());
  for (const [, matchers] of expr.matchAll(/\{([^}]*)\}/g)) for (const [, name] of matchers!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) names.add(name!);
  return [...names].filter((name) => name && !SCRAPE_LABELS.has(name));
}
