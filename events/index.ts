export { locationCode, money, timestamp, uuid } from './fields.js';
export * from './payloads.js';
export * from './envelope.js';
export * from './parse.js';
