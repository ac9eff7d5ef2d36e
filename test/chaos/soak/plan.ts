/**
 * The soak's seeded plan: which uploads (kind, size, tenant, key) and which faults at which second. The
 * same seed and settings give the same plan, so `SOAK_SEED=n make soak` repeats a run's schedule (the
 * machine's timing still differs: what a fault hits is not repeated exactly).
 */

export const MiB = 1024 * 1024;

/** A small, fast, seedable PRNG (mulberry32): Math.random cannot be seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export function between(random: Random, low: number, high: number): number {
  return Math.floor(low + random() * (high - low + 1));
}

/**
 * How an upload's bytes are made (test/chaos/soak/files.ts). `template:` kinds upload a sample or fixture
 * as it is (one per provider type); `gen:` kinds are generated at the planned size; `hostile:` kinds must
 * end failed or dead-lettered with a reason, never stuck.
 */
export type UploadKind =
  | 'gen:text'
  | 'gen:markdown'
  | 'gen:csv'
  | 'gen:jsonl'
  | 'gen:json'
  | 'gen:code'
  | 'gen:pdf'
  | 'gen:binary'
  | 'template:pdf'
  | 'template:docx'
  | 'template:xlsx'
  | 'template:pptx'
  | 'template:odt'
  | 'template:rtf'
  | 'template:html'
  | 'template:eml'
  | 'template:tsv'
  | 'template:zip'
  | 'template:yaml'
  | 'template:wav'
  | 'template:flac'
  | 'template:png'
  | 'hostile:docx-bomb'
  | 'hostile:pdf-bomb'
  | 'hostile:yaml-laughs'
  | 'hostile:deep-json'
  | 'hostile:truncated-pdf'
  | 'hostile:locked-pdf'
  | 'hostile:garbage-pdf'
  | 'hostile:nul-text'
  | 'hostile:one-line'
  | 'hostile:empty'
  | 'hostile:bad-name';

export interface PlannedUpload {
  /** 0-based position in the plan (also the order of upload). */
  index: number;
  tenant: string;
  key: string;
  kind: UploadKind;
  /** Bytes to generate for `gen:` kinds and sized hostile kinds; templates keep their own size. */
  bytes: number;
  /** Seconds after the start at which the upload begins (spread evenly over the window). */
  at: number;
  /** A word only this upload's content holds (generated kinds), for search checks. */
  marker: string;
}

export type FaultTarget =
  | 'subscriber'
  | 'bridge'
  | 'worker-small'
  | 'worker-medium'
  | 'worker-large'
  | 'nats'
  | 'temporal'
  | 'postgres'
  | 'seaweedfs';

export interface PlannedFault {
  /** Seconds after the start. */
  at: number;
  target: FaultTarget;
  /** SIGKILL then start again after `downSeconds`; restart (stop, start at once); stop for `downSeconds`. */
  action: 'kill' | 'restart' | 'stop';
  downSeconds: number;
}

export interface SoakSettings {
  seed: number;
  uploads: number;
  /** Seconds over which uploads and faults are spread. */
  windowSeconds: number;
  tenants: string[];
  /** Uploads of 1-4 MiB, as a share of all (0-1). */
  mediumShare: number;
  /** How many 16-48 MiB files. */
  large: number;
  /** How many files of 100-200 MiB (the first is exactly 200 MiB of text). */
  huge: number;
  /** Hostile uploads, as a share of all (0-1). */
  hostileShare: number;
  /** Process kills per process (subscriber, bridge, each worker tier). */
  killsPerProcess: number;
  /** Seconds a stopped server stays down (PostgreSQL, SeaweedFS). */
  outageSeconds: number;
}

const TEMPLATE_KINDS: UploadKind[] = [
  'template:pdf',
  'template:docx',
  'template:xlsx',
  'template:pptx',
  'template:odt',
  'template:rtf',
  'template:html',
  'template:eml',
  'template:tsv',
  'template:zip',
  'template:yaml',
];
/** Audio and pictures run speech recognition and OCR: seconds of CPU each, so few of them. */
const MEDIA_KINDS: UploadKind[] = ['template:wav', 'template:flac', 'template:png'];
const SMALL_GEN_KINDS: UploadKind[] = [
  'gen:text',
  'gen:markdown',
  'gen:csv',
  'gen:jsonl',
  'gen:json',
  'gen:code',
];
const STREAMED_KINDS: UploadKind[] = ['gen:text', 'gen:markdown', 'gen:jsonl', 'gen:csv'];
const HOSTILE_KINDS: UploadKind[] = [
  'hostile:docx-bomb',
  'hostile:pdf-bomb',
  'hostile:yaml-laughs',
  'hostile:deep-json',
  'hostile:truncated-pdf',
  'hostile:locked-pdf',
  'hostile:garbage-pdf',
  'hostile:nul-text',
  'hostile:empty',
  'hostile:bad-name',
  'hostile:bad-name',
  'hostile:bad-name',
];

const EXTENSIONS: Record<string, string> = {
  'gen:text': 'txt',
  'gen:markdown': 'md',
  'gen:csv': 'csv',
  'gen:jsonl': 'jsonl',
  'gen:json': 'json',
  'gen:code': 'py',
  'gen:pdf': 'pdf',
  'gen:binary': 'bin',
  'template:pdf': 'pdf',
  'template:docx': 'docx',
  'template:xlsx': 'xlsx',
  'template:pptx': 'pptx',
  'template:odt': 'odt',
  'template:rtf': 'rtf',
  'template:html': 'html',
  'template:eml': 'eml',
  'template:tsv': 'tsv',
  'template:zip': 'zip',
  'template:yaml': 'yaml',
  'template:wav': 'wav',
  'template:flac': 'flac',
  'template:png': 'png',
  'hostile:docx-bomb': 'docx',
  'hostile:pdf-bomb': 'pdf',
  'hostile:yaml-laughs': 'yaml',
  'hostile:deep-json': 'json',
  'hostile:truncated-pdf': 'pdf',
  'hostile:locked-pdf': 'pdf',
  'hostile:garbage-pdf': 'pdf',
  'hostile:nul-text': 'txt',
  'hostile:one-line': 'txt',
  'hostile:empty': 'txt',
  'hostile:bad-name': 'txt',
};

/**
 * Names a careless or hostile client sends: spaces, non-Latin and decomposed letters, emoji, a name near
 * S3's 1,024-byte key limit, percent signs, a line feed and a zero-width space. Each must end completed,
 * failed or dead-lettered with a reason.
 */
const BAD_NAMES = [
  (i: number) => `quarterly report (final) ${i}.txt`,
  (i: number) => `отчёт-${i}.txt`,
  (i: number) => `cafe\u0301-${i}.txt`,
  (i: number) => `😀-${i}.txt`,
  (i: number) => `${'long-name-'.repeat(90)}${i}.txt`,
  (i: number) => `%2e%2e-${i}.txt`,
  (i: number) => `two\nlines-${i}.txt`,
  (i: number) => `zero\u200bwidth-${i}.txt`,
  (i: number) => `..${i}.txt`,
];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function keyFor(kind: UploadKind, index: number, random: Random): string {
  const folder = pick(random, ['uploads', 'docs', 'inbox/2026']);
  if (kind === 'hostile:bad-name') return `${folder}/${pick(random, BAD_NAMES)(index)}`;
  return `${folder}/soak-${String(index).padStart(5, '0')}.${EXTENSIONS[kind]}`;
}

/** The upload list: the big and hostile files spread through it, the rest small files of every type. */
export function planUploads(s: SoakSettings): PlannedUpload[] {
  const random = rng(s.seed);
  const kinds: Array<{ kind: UploadKind; bytes: number }> = [];
  for (let i = 0; i < s.huge; i++) {
    // One streamed 200 MiB text file; the others cheap to process (a single-line bomb refused by the
    // pre-pass, binary stored as file info), so the full run stays within its time.
    const kind: UploadKind = i === 0 ? 'gen:text' : i % 2 === 1 ? 'hostile:one-line' : 'gen:binary';
    kinds.push({ kind, bytes: i === 0 ? 200 * MiB : between(random, 100, 200) * MiB });
  }
  for (let i = 0; i < s.large; i++)
    kinds.push({ kind: pick(random, STREAMED_KINDS), bytes: between(random, 16, 48) * MiB });
  const medium = Math.round(s.uploads * s.mediumShare);
  for (let i = 0; i < medium; i++) {
    const kind = random() < 0.25 ? 'gen:pdf' : pick(random, STREAMED_KINDS);
    kinds.push({ kind, bytes: between(random, 1, 4) * MiB });
  }
  const hostile = Math.round(s.uploads * s.hostileShare);
  for (let i = 0; i < hostile; i++) kinds.push({ kind: pick(random, HOSTILE_KINDS), bytes: 0 });
  while (kinds.length < s.uploads) {
    const roll = random();
    if (roll < 0.005) kinds.push({ kind: pick(random, MEDIA_KINDS), bytes: 0 });
    else if (roll < 0.3) kinds.push({ kind: pick(random, TEMPLATE_KINDS), bytes: 0 });
    else {
      const bytes = random() < 0.7 ? between(random, 200, 4096) : between(random, 4096, 256 * 1024);
      kinds.push({ kind: pick(random, SMALL_GEN_KINDS), bytes });
    }
  }
  kinds.length = Math.min(kinds.length, s.uploads);
  // Fisher-Yates, seeded: big and hostile files land anywhere in the window.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as (typeof kinds)[number], kinds[i] as (typeof kinds)[number]];
  }
  // Uploads fill the first 85% of the window, so the last faults still meet work in flight.
  const span = s.windowSeconds * 0.85;
  return kinds.map(({ kind, bytes }, index) => ({
    index,
    tenant: s.tenants[index % s.tenants.length] as string,
    key: keyFor(kind, index, random),
    kind,
    bytes,
    at: s.uploads > 1 ? (span * index) / (s.uploads - 1) : 0,
    marker: `soakword${s.seed.toString(36)}x${index.toString(36)}`,
  }));
}

/**
 * The fault schedule: `killsPerProcess` SIGKILLs of the subscriber, the bridge and each worker tier at
 * random moments in the window (each down 0.5-5 s before it is started again), and one restart of NATS and
 * of Temporal and one `outageSeconds` stop of PostgreSQL and of SeaweedFS, each in its own slot of the
 * window so no two servers are away at once.
 */
export function planFaults(s: SoakSettings): PlannedFault[] {
  const random = rng(s.seed ^ 0x5eed);
  const faults: PlannedFault[] = [];
  const w = s.windowSeconds;
  const processes: FaultTarget[] = ['subscriber', 'bridge', 'worker-small', 'worker-medium', 'worker-large'];
  for (const target of processes)
    for (let k = 0; k < s.killsPerProcess; k++)
      faults.push({
        at: round(w * (0.05 + 0.9 * random())),
        target,
        action: 'kill',
        downSeconds: round(0.5 + 4.5 * random()),
      });
  // Four servers, four slots in the middle 10%-90% of the window, in a seeded order.
  const servers: Array<Pick<PlannedFault, 'target' | 'action' | 'downSeconds'>> = [
    { target: 'nats', action: 'restart', downSeconds: 0 },
    { target: 'temporal', action: 'restart', downSeconds: 0 },
    { target: 'postgres', action: 'stop', downSeconds: s.outageSeconds },
    { target: 'seaweedfs', action: 'stop', downSeconds: s.outageSeconds },
  ];
  for (let i = servers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [servers[i], servers[j]] = [
      servers[j] as (typeof servers)[number],
      servers[i] as (typeof servers)[number],
    ];
  }
  const slot = (w * 0.8) / servers.length;
  servers.forEach((server, i) => {
    // Inside its slot, leaving room for the outage and the server's start before the next slot.
    const room = Math.max(0, slot - server.downSeconds - 30);
    faults.push({ ...server, at: round(w * 0.1 + slot * i + random() * room) });
  });
  return faults.sort((a, b) => a.at - b.at);
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
