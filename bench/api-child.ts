/*
 * The event API as a child process of the benchmark: `startEventApi` with the options given as JSON
 * in argv, exactly as `restaurant-stack api` runs it, plus an IPC channel through which the parent
 * pauses and resumes production and learns the head offset. Started by bench/processes.ts.
 */
import { startEventApi, type EventApiOptions } from '../generator-api/index.js';
import type { ApiChildCommand, ApiChildReport } from './processes.js';

const HEAD_REPORT_MS = 50;

const options = JSON.parse(process.argv[2] ?? '{}') as EventApiOptions;
const api = await startEventApi(options);
const report = (message: ApiChildReport) => process.send?.(message);

let lastHead = -1;
const headReports = setInterval(() => {
  if (api.head === lastHead) return;
  lastHead = api.head;
  report({ type: 'head', head: lastHead });
}, HEAD_REPORT_MS);

let closing: Promise<void> | undefined;
const close = () => {
  closing ??= (async () => {
    clearInterval(headReports);
    await api.close();
    process.exit(0);
  })();
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
process.on('disconnect', close);
process.on('message', (command: ApiChildCommand) => {
  if (command === 'pause') api.pause();
  if (command === 'resume') api.resume();
});
report({ type: 'ready', url: api.url });
