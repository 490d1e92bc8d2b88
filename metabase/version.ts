/*
 * The Metabase versions this provisioning works with. Checked against Metabase's own endpoint code:
 * from v0.48 `PUT /api/dashboard/:id` takes the full `dashcards` list; v0.47 ignores it there (it had
 * `PUT /api/dashboard/:id/cards`), so its dashboards would stay empty. API keys exist from v0.49.
 */

export const OLDEST_SUPPORTED = { label: 'v0.48', minor: 48 } as const;
export const OLDEST_WITH_API_KEYS = { label: 'v0.49', minor: 49 } as const;

export class UnsupportedMetabaseVersion extends Error {
  override name = 'UnsupportedMetabaseVersion';
}

/**
 * The release line of a version tag: `v0.50.36` (open source) and `v1.50.36` (Enterprise) are both 50.
 * Undefined for a tag that does not look like a release (a local build's `vUNKNOWN`).
 */
export function releaseLine(tag: string): number | undefined {
  const match = /^v?[01]\.(\d+)(?:\.|$)/.exec(tag.trim());
  return match ? Number(match[1]) : undefined;
}

/** Throws, naming the version and what to do, when Metabase is older than this provisioning (or API keys) need. */
export function assertSupportedVersion(tag: string | undefined, usingApiKey: boolean): void {
  const line = tag === undefined ? undefined : releaseLine(tag);
  if (line === undefined) return;
  if (line < OLDEST_SUPPORTED.minor) {
    throw new UnsupportedMetabaseVersion(
      `Metabase ${tag} is older than ${OLDEST_SUPPORTED.label}, the oldest this provisioning supports (before it, PUT /api/dashboard/:id ignores the dashboard's cards): upgrade Metabase`,
    );
  }
  if (usingApiKey && line < OLDEST_WITH_API_KEYS.minor) {
    throw new UnsupportedMetabaseVersion(`Metabase ${tag} has no API keys (they came in ${OLDEST_WITH_API_KEYS.label}): use MB_ADMIN_EMAIL and MB_ADMIN_PASSWORD instead of MB_API_KEY`);
  }
}
