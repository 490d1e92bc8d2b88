export { locationCode, money, timestamp, uuid } from './fields.js';
export * from './payloads.js';
export * from './envelope.js';
export { describeIssues, issuePath } from './issues.js';
