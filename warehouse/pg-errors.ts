/** The SQLSTATE of an error thrown by node-postgres, if it has one. */
export function pgErrorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
