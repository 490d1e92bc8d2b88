/*
 * Metabase's rule for a new user's password (its default "normal" complexity): at least 6 characters,
 * at least one digit, and not one of the common passwords it ships a list of. We check the first two and
 * the commonest of those passwords before calling `POST /api/setup`, so a bad MB_ADMIN_PASSWORD is named
 * before anything is sent; Metabase's longer list may still refuse one, and its message is then shown.
 */

const MIN_LENGTH = 6;

/** Common passwords that meet the length and digit rules, so only the list catches them (compared lower-cased). */
const COMMON = new Set([
  '123456', '1234567', '12345678', '123456789', '1234567890', '111111', '000000', '123123', '654321', '121212',
  '112233', '123321', '666666', '696969', '777777', '888888', '999999', '555555', '159753', '147258',
  'password1', 'password12', 'password123', 'passw0rd', 'p@ssw0rd', 'p@ssword1', 'abc123', 'abcd1234', 'qwerty1',
  'qwerty12', 'qwerty123', '1q2w3e4r', '1q2w3e', '1qaz2wsx', 'zaq12wsx', 'q1w2e3r4', 'letmein1', 'welcome1',
  'welcome123', 'admin123', 'admin1234', 'iloveyou1', 'trustno1', 'monkey1', 'dragon1', 'master1', 'shadow1',
  'sunshine1', 'princess1', 'football1', 'baseball1', 'superman1', 'michael1', 'charlie1', 'jordan23', 'hunter2',
  'changeme1', 'secret1', 'test123', 'test1234', 'metabase1', 'metabase123',
]);

/** Why Metabase would refuse this password for a new user, or undefined when it meets the rule. */
export function setupPasswordProblem(password: string): string | undefined {
  if (password.length < MIN_LENGTH) return `it has ${password.length} characters; Metabase needs at least ${MIN_LENGTH}`;
  if (!/\d/.test(password)) return 'it has no digit; Metabase needs at least one';
  if (COMMON.has(password.toLowerCase())) return 'it is a common password, which Metabase refuses';
  return undefined;
}
