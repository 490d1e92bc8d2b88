/**
 * `npm run build`'s last step: the workflow bundle, made once at build time so a compiled worker
 * starts without webpack. Run from dist/ by `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflows, PREBUILT_BUNDLE } from './workflow-bundle.js';

const { code } = await bundleWorkflows();
writeFileSync(PREBUILT_BUNDLE, code);
console.log(`workflow bundle written to ${PREBUILT_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
