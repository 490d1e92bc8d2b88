import { spawnSync } from 'node:child_process';

/**
 * A command the tests need from a Debian package. .ci/provision installs them; a test never does
 * (provisioning is not a test's business), it fails naming the package instead.
 */
export function requireSystemTool(command: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return;
  throw new Error(`\`${command}\` is missing: install the Debian package "${debianPackage}" (bash .ci/provision installs every package the tests need)`);
}
