/**
 * The storage-event contract: every producer shape we accept, normalised once into a StorageEvent, or a
 * readable reason why the message is ignored or dead-lettered. Pure on purpose (no node builtins) so the
 * bridge, the CLI and Temporal workflow code can all share the exact same rules.
 *
 * Rules that keep one tenant's event inside that tenant:
 * - the bucket is the tenant, and P8FS's own buckets are never tenants: the derived-data bucket (passed in
 *   as `reservedBuckets`, from the configuration) and every bucket starting with `p8fs-`;
 * - a rename stays inside one bucket ("rename across tenants" otherwise);
 * - no path escapes its bucket (`..`, `.`, `//`, backslashes, control characters, unpaired surrogates,
 *   and the same once percent-decoded), and a `bucket` field must agree with the path.
 * Input never indexes a plain object: lookups use Maps or own properties, so "constructor" or
 * "__proto__" are just unknown words.
 */
import { invisibleCharacterIn } from './invisible-characters.js';

export type StorageEventType = 'create' | 'update' | 'delete' | 'rename';

export interface StorageEvent {
  type: StorageEventType;
  /** Normalised absolute path '/buckets/{tenant}/{category}/{file...}'; for a rename, the new path. */
  path: string;
  /** The S3 bucket, which is also the tenant id. */
  bucket: string;
  /** S3 object key inside the bucket, e.g. 'uploads/report.pdf'. */
  key: string;
  tenantId: string;
  /** First folder under the bucket; 'uncategorized' when the file sits at the bucket root. */
  category: string;
  fileName: string;
  /** Bytes; undefined when the producer did not send it (the router then asks S3). */
  size?: number;
  /** At most MAX_MIME_TYPE_CHARS characters. */
  mimeType?: string;
  /**
   * Content identity from the producer (etag, md5, version or sequence, the first one set), as a string.
   * The bridge replaces it by what S3 says about the object for create, update and rename events.
   */
  version?: string;
  /**
   * The producer's modification time (mtime, entry.attributes.mtime). One-second resolution: two saves
   * in the same second share it, so it is a version only when nothing better is known.
   */
  mtime?: string;
  /**
   * The modification time as ISO 8601 UTC, whatever shape the producer sent (ISO string, epoch seconds,
   * milliseconds, micro- or nanoseconds; number or numeric string). For people and queries; the raw
   * `mtime` above stays what versions are derived from, so workflow ids do not depend on this reading.
   */
  modifiedAt?: string;
  oldPath?: string;
  oldKey?: string;
}

/** Why an event needs no work, as a fixed category (counted by the bridge) beside the readable reason. */
export type IgnoreCategory = 'directory' | 'multipart-part' | 'rename-to-itself';
export const IGNORE_CATEGORIES: readonly IgnoreCategory[] = [
  'directory',
  'multipart-part',
  'rename-to-itself',
];

export type ParseOutcome =
  | { kind: 'event'; event: StorageEvent }
  | { kind: 'ignore'; reason: string; category: IgnoreCategory }
  | { kind: 'reject'; reason: string };

export interface ParseOptions {
  /**
   * Buckets that belong to P8FS itself and so are never tenants (the derived-data bucket of the
   * configuration). Every bucket starting with RESERVED_BUCKET_PREFIX is reserved as well, whatever is
   * passed here. Events naming a reserved bucket are rejected.
   */
  reservedBuckets?: readonly string[];
}

/** Buckets named `p8fs-…` are P8FS's own (derived data and whatever comes next), never a tenant's. */
export const RESERVED_BUCKET_PREFIX = 'p8fs-';

/** RFC 6838 allows 127 + 1 + 127 characters for type/subtype; parameters fit in what is left. */
export const MAX_MIME_TYPE_CHARS = 255;

// A Map, not an object: input such as "constructor" or "__proto__" must not find Object.prototype.
const TYPE_ALIASES: ReadonlyMap<string, StorageEventType> = new Map([
  ['create', 'create'],
  ['created', 'create'],
  ['put', 'create'],
  ['upload', 'create'],
  ['uploaded', 'create'],
  ['update', 'update'],
  ['updated', 'update'],
  ['modify', 'update'],
  ['modified', 'update'],
  ['delete', 'delete'],
  ['deleted', 'delete'],
  ['remove', 'delete'],
  ['removed', 'delete'],
  ['rename', 'rename'],
  ['renamed', 'rename'],
  ['move', 'rename'],
  ['moved', 'rename'],
]);

const TYPE_FIELDS = ['event_type', 'operation', 'type'];
const PATH_FIELDS = ['path', 'key', 'entry.FullPath'];
const NEW_PATH_FIELDS = ['new_path', 'new_key', 'to', ...PATH_FIELDS];
const OLD_PATH_FIELDS = ['old_path', 'old_key', 'from'];
/** Fields that may hold a key relative to `bucket` instead of a '/buckets/...' path. */
const KEY_FIELDS = new Set(['key', 'new_key', 'old_key', 'from', 'to']);
const SIZE_FIELDS = ['size', 'file_size', 'entry.Size', 'entry.attributes.file_size'];
const MIME_FIELDS = ['content_type', 'mime_type', 'entry.Mime', 'entry.attributes.mime'];
// Content identity first; a modification time (one-second resolution) is kept apart as a last resort.
const VERSION_FIELDS = ['etag', 'md5', 'version', 'sequence', 'entry.attributes.md5'];
const MTIME_FIELDS = ['mtime', 'entry.attributes.mtime'];
/** Where a modification time may sit for `modifiedAt`: the mtime fields first, then other producers' names. */
const MODIFIED_FIELDS = [...MTIME_FIELDS, 'last_modified', 'modified_at', 'timestamp'];
const DIRECTORY_FLAGS = ['is_directory', 'isDirectory', 'entry.IsDirectory'];
const MODE_FIELDS = ['entry.attributes.mode', 'entry.attributes.file_mode'];

const BUCKET_NAME = /^[a-z0-9._-]{1,63}$/;
const MULTIPART_STAGING = '.uploads';
const S3_MAX_KEY_BYTES = 1024;
const MAX_VERSION_CHARS = 200;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the goal
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;
/** With the u flag a well-formed pair is one code point, so this finds only unpaired surrogates. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const MIME_ESSENCE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

type Json = Record<string, unknown>;

/** Thrown inside the parser to stop at the first problem; never escapes parseStorageEvent. */
class Outcome {
  constructor(readonly outcome: Exclude<ParseOutcome, { kind: 'event' }>) {}
}
function reject(reason: string): never {
  throw new Outcome({ kind: 'reject', reason });
}
function ignore(category: IgnoreCategory, reason: string): never {
  throw new Outcome({ kind: 'ignore', reason, category });
}

export function parseStorageEvent(input: unknown, options: ParseOptions = {}): ParseOutcome {
  try {
    return { kind: 'event', event: normalise(decode(input), options.reservedBuckets ?? []) };
  } catch (error) {
    if (error instanceof Outcome) return error.outcome;
    throw error;
  }
}

/** True for a bucket of P8FS itself: one of `reservedBuckets`, or any name starting with `p8fs-`. */
export function isReservedBucket(bucket: string, reservedBuckets: readonly string[] = []): boolean {
  return bucket.startsWith(RESERVED_BUCKET_PREFIX) || reservedBuckets.includes(bucket);
}

/**
 * A content type as an event may carry it: unchanged when it is short and plain; otherwise its bare
 * `type/subtype` when that is short and well-formed; otherwise unknown (the provider is then chosen by
 * the file name). For types that come from elsewhere than the event, e.g. S3's stored Content-Type.
 */
export function boundedMimeType(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed || CONTROL_CHAR.test(trimmed) || LONE_SURROGATE.test(trimmed)) return undefined;
  if (trimmed.length <= MAX_MIME_TYPE_CHARS) return trimmed;
  const essence = trimmed.split(';', 1)[0]?.trim() ?? '';
  return essence.length <= MAX_MIME_TYPE_CHARS && MIME_ESSENCE.test(essence) ? essence : undefined;
}

function decode(input: unknown): Json {
  let value = input;
  if (input instanceof Uint8Array) {
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      reject('payload is not valid UTF-8');
    }
  }
  if (typeof value === 'string') {
    if (value.trim() === '') reject('payload is empty');
    try {
      value = JSON.parse(value);
    } catch (error) {
      reject(`payload is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    reject(`payload must be a JSON object, got ${describeType(value)}`);
  }
  return value as Json;
}

interface Located {
  path: string;
  label: string;
}

interface PathParts {
  tenantId: string;
  key: string;
  category: string;
  fileName: string;
}

function normalise(json: Json, reservedBuckets: readonly string[]): StorageEvent {
  const type = readType(json);
  const isRename = type === 'rename';
  const target = locatePath(json, isRename ? NEW_PATH_FIELDS : PATH_FIELDS);
  const old = isRename ? locatePath(json, OLD_PATH_FIELDS) : undefined;

  for (const located of [target, old]) if (located) checkSafety(located);
  // Before anything is ignored: no event that reaches a reserved bucket or another tenant's bucket is
  // harmless enough to be skipped quietly.
  for (const located of [target, old]) if (located) checkTenantBucket(located, reservedBuckets);
  if (old) checkSameBucket(old, target);
  const flag = directoryFlag(json);
  for (const located of [target, old]) {
    if (located && (flag || located.path.endsWith('/'))) {
      ignore('directory', `${located.label} is a directory${flag ? ` (${flag})` : ''}`);
    }
  }

  const parts = splitPath(target);
  const oldParts = old ? splitPath(old) : undefined;
  checkBucketField(json, parts.tenantId);
  if (old && oldParts) {
    if (old.path === target.path) {
      ignore('rename-to-itself', `rename of ${target.label} to itself changes nothing`);
    }
  }

  const event: StorageEvent = { type, path: target.path, bucket: parts.tenantId, ...parts };
  const size = readSize(json);
  if (size !== undefined) event.size = size;
  const mimeType = readMime(json);
  if (mimeType !== undefined) event.mimeType = mimeType;
  const version = readVersion(json, VERSION_FIELDS);
  if (version !== undefined) event.version = version;
  const mtime = readVersion(json, MTIME_FIELDS);
  if (mtime !== undefined) event.mtime = mtime;
  const modifiedAt = readTimestamp(json, MODIFIED_FIELDS);
  if (modifiedAt !== undefined) event.modifiedAt = modifiedAt;
  if (old && oldParts) {
    event.oldPath = old.path;
    event.oldKey = oldParts.key;
  }
  return event;
}

function readType(json: Json): StorageEventType {
  const found = firstPresent(json, TYPE_FIELDS);
  if (!found) return reject(`missing event type: none of ${TYPE_FIELDS.join(', ')} is set`);
  if (typeof found.value !== 'string') {
    return reject(`${found.field} must be a string, got ${describeValue(found.value)}`);
  }
  const type = TYPE_ALIASES.get(found.value.trim().toLowerCase());
  if (!type) {
    return reject(
      `unknown event type ${quote(found.value)} in ${found.field}; expected create, update, delete or rename ` +
        `(aliases: ${[...TYPE_ALIASES.keys()].join(', ')})`,
    );
  }
  return type;
}

function locatePath(json: Json, fields: string[]): Located {
  const found = firstPresent(json, fields);
  if (!found) {
    const what = fields === OLD_PATH_FIELDS ? 'rename event has no old path' : 'missing path';
    return reject(`${what}: none of ${fields.join(', ')} is set`);
  }
  const { field, value } = found;
  if (typeof value !== 'string' || value === '') {
    return reject(`${field} must be a non-empty string, got ${describeValue(value)}`);
  }
  if (!KEY_FIELDS.has(field) || value === '/buckets' || value.startsWith('/buckets/')) {
    // Some producers drop the leading slash ('buckets/{tenant}/...'); it is the same path.
    const path = value.startsWith('buckets/') ? `/${value}` : value;
    return { path, label: `${field} ${quote(value)}` };
  }
  const bucket = json.bucket;
  if (value.startsWith('buckets/') && (typeof bucket !== 'string' || bucket === '')) {
    return { path: `/${value}`, label: `${field} ${quote(value)}` };
  }
  if (typeof bucket !== 'string' || bucket === '') {
    return reject(
      `${field} ${quote(value)} is not a /buckets/{tenant}/... path and there is no "bucket" field to place it in`,
    );
  }
  if (value.startsWith('/')) {
    return reject(`${field} ${quote(value)} is absolute but not under /buckets/{tenant}/`);
  }
  return {
    path: `/buckets/${bucket}/${value}`,
    label: `${field} ${quote(value)} in bucket ${quote(bucket)}`,
  };
}

/** Rules that make a path unsafe whatever its shape: they hold before anything is split or looked up. */
function checkSafety({ path, label }: Located): void {
  if (CONTROL_CHAR.test(path)) reject(`${label} contains a control character (${controlName(path)})`);
  const invisible = invisibleCharacterIn(path);
  if (invisible) reject(`${label} contains ${invisible} of the path, which hides what the name says`);
  // JSON "\ud800" decodes to half a character: no valid UTF-8 (S3 keys, Temporal ids) can carry it.
  if (LONE_SURROGATE.test(path)) {
    reject(`${label} contains an unpaired surrogate (${surrogateName(path)}), which is not valid UTF-8`);
  }
  if (path.includes('\\')) reject(`${label} contains a backslash, which some tools treat as a separator`);
  checkSegments(label, path.split('/'), '');
  // Decode exactly once: what a lenient consumer would see must pass the same rules.
  if (/%[0-9a-f]{2}/i.test(path)) {
    const decoded = path.replace(/%([0-9a-f]{2})/gi, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (CONTROL_CHAR.test(decoded)) {
      reject(`${label} contains a percent-encoded control character (${controlName(decoded)})`);
    }
    const encodedInvisible = invisibleCharacterIn(decodePercentUtf8(path));
    if (encodedInvisible) reject(`${label} contains a percent-encoded ${encodedInvisible} of the path`);
    if (decoded.includes('\\')) reject(`${label} contains a percent-encoded backslash (%5C)`);
    const segments = decoded.split('/');
    if (segments.length !== path.split('/').length) reject(`${label} contains a percent-encoded "/" (%2F)`);
    checkSegments(label, segments, 'percent-encoded ');
  }
}

function checkSegments(label: string, segments: string[], how: string): void {
  for (const segment of segments) {
    if (segment === '..' || segment === '.')
      reject(`${label} escapes its bucket: ${how}${quote(segment)} segment`);
  }
  // The first segment is empty for an absolute path and the last for a directory; both are fine here.
  if (segments.slice(1, -1).includes('')) reject(`${label} has an empty segment ("//")`);
}

function splitPath({ path, label }: Located): PathParts {
  const segments = path.split('/');
  if (segments[0] !== '' || segments[1] !== 'buckets') reject(`${label} is not under /buckets/{tenant}/`);
  const tenantId = segments[2];
  if (tenantId === undefined) return reject(`${label} names no bucket, expected /buckets/{tenant}/{file}`);
  if (!BUCKET_NAME.test(tenantId)) {
    reject(
      `${label} has an invalid bucket (tenant) name ${quote(tenantId)}: ` +
        'expected 1-63 lowercase letters, digits, "-", "." or "_"',
    );
  }
  const rest = segments.slice(3);
  const fileName = rest.at(-1);
  if (fileName === undefined) return reject(`${label} names only the bucket ${quote(tenantId)}, not a file`);
  if (rest[0] === MULTIPART_STAGING) {
    ignore('multipart-part', `${label} is a multipart upload part under ${MULTIPART_STAGING}/`);
  }
  const key = rest.join('/');
  const keyBytes = new TextEncoder().encode(key).length;
  if (keyBytes > S3_MAX_KEY_BYTES) {
    reject(`${label} has a key of ${keyBytes} bytes; S3 keys are at most ${S3_MAX_KEY_BYTES} bytes`);
  }
  const category = rest.length > 1 ? (rest[0] as string) : 'uncategorized';
  return { tenantId, key, category, fileName };
}

/** The bucket of a path must be a tenant's: P8FS's own buckets (derived data, `p8fs-…`) are not. */
function checkTenantBucket({ path, label }: Located, reservedBuckets: readonly string[]): void {
  const bucket = bucketOf(path);
  if (bucket === undefined || !isReservedBucket(bucket, reservedBuckets)) return;
  reject(
    `${label} is in the reserved bucket ${quote(bucket)}, which is not a tenant: the derived-data bucket ` +
      `and every bucket starting with "${RESERVED_BUCKET_PREFIX}" belong to P8FS itself`,
  );
}

function bucketOf(path: string): string | undefined {
  const [root, buckets, bucket] = path.split('/');
  return root === '' && buckets === 'buckets' ? bucket : undefined;
}

function checkSameBucket(old: Located, target: Located): void {
  const from = bucketOf(old.path);
  const to = bucketOf(target.path);
  // A path outside /buckets/ is rejected with its own reason when it is split.
  if (from === undefined || to === undefined || from === to) return;
  reject(
    `rename across tenants: ${old.label} is in bucket ${quote(from)} but ${target.label} ` +
      `is in bucket ${quote(to)}; a rename must stay inside one bucket`,
  );
}

function checkBucketField(json: Json, tenantId: string): void {
  const bucket = json.bucket;
  if (bucket !== undefined && bucket !== null && bucket !== tenantId) {
    reject(`bucket ${describeValue(bucket)} does not match the bucket ${quote(tenantId)} in the path`);
  }
}

function directoryFlag(json: Json): string | undefined {
  for (const field of DIRECTORY_FLAGS) {
    const value = get(json, field);
    if (value === true || value === 'true') return `${field} is true`;
  }
  for (const field of MODE_FIELDS) {
    const value = get(json, field);
    const mode = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof mode === 'number' && Number.isSafeInteger(mode) && mode >= 0 && isDirectoryMode(mode)) {
      return `${field} has the directory bit`;
    }
  }
  return undefined;
}

/** Producers send either a POSIX st_mode (S_IFDIR) or a Go os.FileMode (ModeDir is bit 31). */
function isDirectoryMode(mode: number): boolean {
  const goModeDir = Math.floor(mode / 2 ** 31) % 2 === 1;
  const posixDir = (mode & 0o170000) === 0o040000;
  return goModeDir || posixDir;
}

function readSize(json: Json): number | undefined {
  const found = firstPresent(json, SIZE_FIELDS);
  if (!found) return undefined;
  const { field, value } = found;
  const size = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    return reject(
      `size field ${field} must be a non-negative integer number of bytes, got ${describeValue(value)}`,
    );
  }
  return size;
}

function readMime(json: Json): string | undefined {
  const found = firstPresent(json, MIME_FIELDS, true);
  if (!found) return undefined;
  const { field, value } = found;
  if (typeof value !== 'string' || CONTROL_CHAR.test(value) || LONE_SURROGATE.test(value)) {
    return reject(`mime type field ${field} must be a plain string, got ${describeValue(value)}`);
  }
  const mime = value.trim();
  if (mime.length > MAX_MIME_TYPE_CHARS) {
    return reject(
      `mime type field ${field} is ${mime.length} characters long; at most ${MAX_MIME_TYPE_CHARS} allowed`,
    );
  }
  return mime;
}

const EPOCH_NUMBER = /^\s*\d+(\.\d+)?\s*$/;
const LATEST_MS = Date.UTC(9999, 11, 31);

/**
 * A point in time from any of the shapes producers send, as ISO 8601 UTC; undefined when the value is
 * not one (the event is still accepted: the time is informative, and the raw mtime keeps its role).
 * Epoch numbers are told apart by magnitude: below 1e11 seconds (until year 5138), below 1e14
 * milliseconds, below 1e17 microseconds, else nanoseconds (SeaweedFS's ts_ns).
 */
export function normaliseTimestamp(value: unknown): string | undefined {
  let ms: number | undefined;
  if (typeof value === 'number' || (typeof value === 'string' && EPOCH_NUMBER.test(value))) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) return undefined;
    ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n < 1e17 ? n / 1e3 : n / 1e6;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Date.parse(value.trim());
    ms = Number.isNaN(parsed) ? undefined : parsed;
  }
  if (ms === undefined || ms > LATEST_MS) return undefined;
  return new Date(Math.round(ms)).toISOString();
}

function readTimestamp(json: Json, fields: string[]): string | undefined {
  for (const field of fields) {
    const iso = normaliseTimestamp(get(json, field));
    if (iso !== undefined) return iso;
  }
  return undefined;
}

function readVersion(json: Json, fields: string[]): string | undefined {
  const found = firstPresent(json, fields, true);
  if (!found) return undefined;
  const { field, value } = found;
  let version: string | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) version = String(value);
  // ETags arrive quoted per HTTP; the quotes are not part of the identity.
  if (typeof value === 'string') version = value.trim().replace(/^"(.*)"$/, '$1');
  if (version === undefined || version === '' || CONTROL_CHAR.test(version) || LONE_SURROGATE.test(version)) {
    return reject(`version field ${field} must be a non-empty string or number, got ${describeValue(value)}`);
  }
  if (version.length > MAX_VERSION_CHARS) {
    return reject(
      `version field ${field} is ${version.length} characters long; at most ${MAX_VERSION_CHARS} allowed`,
    );
  }
  return version;
}

/** The first field that is set; null counts as unset, and so does '' when blankIsUnset. */
function firstPresent(
  json: Json,
  fields: string[],
  blankIsUnset = false,
): { field: string; value: unknown } | undefined {
  for (const field of fields) {
    const value = get(json, field);
    if (value === undefined || value === null) continue;
    if (blankIsUnset && typeof value === 'string' && value.trim() === '') continue;
    return { field, value };
  }
  return undefined;
}

function get(json: Json, dotted: string): unknown {
  let current: unknown = json;
  for (const part of dotted.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Json)[part];
  }
  return current;
}

function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 197)}..."` : text;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeType(value);
}

function surrogateName(text: string): string {
  const code = text.match(LONE_SURROGATE)?.[0]?.charCodeAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Percent-decoding as UTF-8 (what a consumer decoding the key would see); the text itself if invalid. */
function decodePercentUtf8(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function controlName(text: string): string {
  const code = text.match(CONTROL_CHAR)?.[0]?.charCodeAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code === 0 ? `NUL, ${hex}` : hex;
}
