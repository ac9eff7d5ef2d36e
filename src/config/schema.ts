/**
 * Validators of the values people type into the environment. Each failure message says what was
 * expected; the reader puts it after the variable's name and value.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `a URL with scheme ${protocols.join(' or ')}` },
  );
export const httpUrl = url(['http', 'https']);
export const port = z.coerce.number().int().min(1).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);
/** A whole number from min to max, e.g. a window or a page size with a sane ceiling. */
export const intBetween = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'host:port')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, {
    message: 'host:port with a port from 1 to 65535',
  });
/** Multipliers of the size units people type: SI (KB = 1000) and IEC (KiB = 1024), as Kubernetes reads them. */
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;
/** A positive byte count: `104857600`, `100MiB`, `100MB`, `1.5GiB`, `512Ki`. */
export const byteSize = z.string().transform((value, ctx) => {
  const match = SIZE.exec(value);
  const factor = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  const bytes = match && factor !== undefined ? Math.round(Number(match[1]) * factor) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        'a positive size in bytes, optionally with a unit: 104857600, 100MiB, 100MB, 1.5GiB (KB = 1000, KiB = 1024)',
    });
    return z.NEVER;
  }
  return bytes;
});
export const nonEmpty = z.string().min(1);
export const name = z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - or _');
export const subject = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a NATS subject like a.b.c');
export const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
/** Five-field cron of a Temporal Schedule (UTC). */
export const cron = z.string().regex(/^\S+( \S+){4}$/, 'a cron expression with 5 fields, e.g. "0 3 * * *"');
export const ipAddress = z
  .string()
  .refine((value) => isIP(value) !== 0, { message: 'an IPv4 or IPv6 address' });
/** Space-separated V8 flags such as `--max-old-space-size=128` (empty: none). */
export const v8Flags = z
  .string()
  .refine(
    (value) =>
      value
        .trim()
        .split(/\s+/)
        .every((flag) => flag === '' || /^--[a-z0-9_-]+(=[\w.-]+)?$/i.test(flag)),
    {
      message:
        'space-separated V8 flags such as "--max-old-space-size=128 --max-semi-space-size=4", or empty',
    },
  )
  .transform((value) => value.trim().split(/\s+/).filter(Boolean));

/** Port of a URL or host:port string, for servers whose port follows from the address users give. */
export function portOf(address: string): number {
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  const parsed = new URL(withScheme);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}
