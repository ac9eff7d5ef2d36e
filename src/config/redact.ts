/**
 * Secrets never reach a terminal or a log: URLs keep their scheme, user, host, port and path, but a
 * password (or a token given as the user part, `nats://token@host`) and secret query parameters
 * (`?password=…`, `sslpassword`, `token`, `api_key`, `secret`) become `***`. Works on values that are not
 * valid URLs too, since a bad DATABASE_URL is exactly the one a configuration error prints.
 */

export const REDACTED = '***';

/** Query parameters whose values are secrets (matched case-insensitively, anywhere in the name). */
const SECRET_PARAM = /pass|secret|token|api[-_]?key|credential|signature/i;

/** Variables whose whole value is a secret: shown as `***` in configuration errors. */
const SECRET_VARIABLE = /(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS)/;

export function isSecretVariable(variable: string): boolean {
  return SECRET_VARIABLE.test(variable);
}

function redactUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  // `user:password` keeps the user (useful to see which account failed); a lone part is a token.
  if (colon < 0) return REDACTED;
  return `${userinfo.slice(0, colon)}:${REDACTED}`;
}

function redactQuery(text: string): string {
  return text.replace(/([?&;])([^=&#\s]+)=([^&#\s]*)/g, (match, sep: string, key: string) =>
    SECRET_PARAM.test(key) ? `${sep}${key}=${REDACTED}` : match,
  );
}

/**
 * One URL-like value (the whole string is the URL, valid or not). The userinfo ends at the LAST `@`, so
 * an unencoded `@`, `/` or `:` inside a password (a common reason a URL is invalid) is hidden as well.
 */
export function redactUrl(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (!scheme) return redactQuery(value);
  const rest = value.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const withoutUser = at < 0 ? rest : `${redactUserinfo(rest.slice(0, at))}@${rest.slice(at + 1)}`;
  return redactQuery(`${scheme[0]}${withoutUser}`);
}

/**
 * Free text (an error message, a status line, a log field): every `scheme://…@` inside it is redacted.
 * A URL ends at white space, quotes or angle brackets; within it, the userinfo ends at the last `@`.
 */
export function redactSecrets(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi, (url) => redactUrl(url));
}
