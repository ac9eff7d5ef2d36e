/**
 * Audio through the real pipeline (JetStream → bridge → Temporal → worker → PostgreSQL) with the offline
 * default (Whisper from the project's venv, pocketsphinx where Whisper is missing): the sample WAVs and
 * an espeak-ng sentence converted by ffmpeg to MP3, FLAC, OGG and M4A become transcript chunks with time
 * ranges; a corrupt WAV fails fast and for good. The `openai` backend runs against a loopback server
 * speaking the real /v1/audio/transcriptions API (multipart upload in, JSON out).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { CorruptFileError, LlmAuthError } from '../../src/domain/errors.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { mimeTypeForFileName } from '../../src/domain/provider-catalog.js';
import { extractFile, localContext, localFile } from '../../src/providers/index.js';
import { audioSeconds, convertMedia, synthesiseSpeech } from '../support/media-files.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { SAMPLES_DIR } from '../support/samples.js';
import { testStackEnv, uniqueTenant } from '../support/test-stack.js';

let p: Pipeline;
const tenant = uniqueTenant('audio');
const tmp = mkdtempSync(join(tmpdir(), 'p8fs-audio-test-'));
const SENTENCE = 'The weather today is sunny and warm.';
const SENTENCE_WORDS = ['weather', 'today', 'sunny', 'warm'];

interface FileRow {
  status: string;
  provider: string | null;
  chunk_count: number | null;
  error: string | null;
}

interface Chunk {
  content: string;
  start: number | null;
  end: number | null;
  source: string | null;
}

async function ingest(
  file: string,
  key = `audio/${basename(file)}`,
): Promise<{ row: FileRow; chunks: Chunk[] }> {
  const body = readFileSync(file);
  const mime = mimeTypeForFileName(file);
  await p.putObject(tenant, key, body, mime);
  const path = `/buckets/${tenant}/${key}`;
  await p.publish({ event_type: 'create', path, size: body.length, mime_type: mime });
  const fileId = fileIdFor(tenant, path);
  const row = await eventually(
    `files row of ${path} to finish`,
    async () => {
      const r = await p.pool.query<FileRow>(
        'SELECT status, provider, chunk_count, error FROM files WHERE id = $1',
        [fileId],
      );
      const found = r.rows[0];
      return found && found.status !== 'processing' ? found : undefined;
    },
    120_000,
  );
  const chunks = await p.pool.query<Chunk>(
    `SELECT content, (metadata->>'start_seconds')::float AS start, (metadata->>'end_seconds')::float AS end,
            metadata->>'source' AS source
     FROM resources WHERE file_id = $1 ORDER BY ordinal`,
    [fileId],
  );
  return { row, chunks: chunks.rows };
}

/** Every chunk reads `[a.0s - b.0s]: …` and carries the same range, within the file, as metadata. */
function expectTimedTranscript(chunks: Chunk[], durationSeconds: number): void {
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) {
    const match = /^\[(\d+\.\d)s - (\d+\.\d)s\]: \S/.exec(chunk.content);
    expect(match, chunk.content).not.toBeNull();
    expect(chunk.source).toBe('transcription');
    expect(chunk.start).toBeGreaterThanOrEqual(0);
    expect(chunk.end).toBeGreaterThan(chunk.start as number);
    expect(chunk.end).toBeLessThanOrEqual(durationSeconds + 0.1);
    expect(Number(match?.[1])).toBeCloseTo(chunk.start as number, 0);
    expect(Number(match?.[2])).toBeCloseTo(chunk.end as number, 0);
  }
}

/** Lower-case words of a text, without punctuation. */
const words = (text: string) => new Set(text.toLowerCase().match(/[a-z']+/g) ?? []);

beforeAll(async () => {
  synthesiseSpeech(SENTENCE, join(tmp, 'sentence.wav'));
  for (const ext of ['mp3', 'flac', 'ogg', 'm4a'])
    convertMedia(join(tmp, 'sentence.wav'), join(tmp, `sentence.${ext}`));
  p = await createPipeline('audio');
  await p.startWorkers(['small']);
  await p.startBridge();
});

afterAll(async () => {
  await p?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('audio transcription through the pipeline (offline default)', () => {
  it('Sample.wav and small/sample.wav complete with transcript chunks and time ranges', async () => {
    const [speech, tone] = await Promise.all([
      ingest(join(SAMPLES_DIR, 'content/Sample.wav')),
      ingest(join(SAMPLES_DIR, 'small/sample.wav')),
    ]);
    expect(speech.row).toMatchObject({ status: 'completed', provider: 'audio', error: null });
    expectTimedTranscript(speech.chunks, 8.83);
    // The sample says "Sample audio for testing the content processors in the P8FS memory vault system".
    const heard = words(speech.chunks.map((c) => c.content).join(' '));
    expect(['memory', 'system', 'content'].filter((w) => heard.has(w)).length).toBeGreaterThanOrEqual(2);

    // small/sample.wav is half a second of a 440 Hz tone: no words, said so over its time range.
    expect(tone.row).toMatchObject({ status: 'completed', provider: 'audio', error: null });
    expectTimedTranscript(tone.chunks, 0.5);
    expect(tone.chunks.map((c) => c.content)).toEqual(['[0.0s - 0.5s]: (no speech recognised)']);
  }, 240_000);

  it('an espeak-ng sentence as MP3, FLAC, OGG and M4A is transcribed with recognisable words', async () => {
    const results = await Promise.all(
      ['mp3', 'flac', 'ogg', 'm4a'].map(async (ext) => ({
        ext,
        ...(await ingest(join(tmp, `sentence.${ext}`))),
      })),
    );
    for (const { ext, row, chunks } of results) {
      expect(row, ext).toMatchObject({ status: 'completed', provider: 'audio', error: null });
      expectTimedTranscript(chunks, audioSeconds(join(tmp, `sentence.${ext}`)));
      const heard = words(chunks.map((c) => c.content).join(' '));
      const recognised = SENTENCE_WORDS.filter((w) => heard.has(w));
      expect(recognised.length, `${ext}: ${chunks.map((c) => c.content).join(' | ')}`).toBeGreaterThanOrEqual(
        3,
      );
    }
  }, 240_000);

  it('a corrupt WAV ends failed within seconds with a CorruptFileError naming the file and the reason', async () => {
    const started = Date.now();
    const corrupt = Buffer.concat([
      Buffer.from('RIFF\u0024\u0010\u0000\u0000WAVEfmt ', 'latin1'),
      Buffer.alloc(200, 0x5a),
    ]);
    const key = 'audio/corrupt.wav';
    await p.putObject(tenant, key, corrupt, 'audio/wav');
    const path = `/buckets/${tenant}/${key}`;
    await p.publish({ event_type: 'create', path, size: corrupt.length, mime_type: 'audio/wav' });
    const row = await eventually(
      'the corrupt WAV to fail',
      async () => {
        const r = await p.pool.query<FileRow>('SELECT status, error FROM files WHERE id = $1', [
          fileIdFor(tenant, path),
        ]);
        return r.rows[0]?.status === 'failed' ? r.rows[0] : undefined;
      },
      60_000,
    );
    // ffprobe refuses it at once, and the error type is not retried (a retry would add a second or more).
    expect(Date.now() - started).toBeLessThan(60_000);
    // ffprobe's own words (here the bogus fmt chunk size makes it refuse to allocate), with the real name.
    expect(row.error).toMatch(
      /CorruptFileError: corrupt\.wav is damaged or not audio \(ffprobe: corrupt\.wav: .+\)/,
    );
  }, 90_000);
});

describe('transcription backends other than the offline default', () => {
  it('P8FS_TRANSCRIPTION=none: the file still yields a metadata section saying it is not transcribed', async () => {
    const cfg = loadConfig({ ...testStackEnv(), P8FS_TRANSCRIPTION: 'none' });
    const ctx = localContext({ config: { limits: localContext().config.limits, media: cfg.media } });
    const doc = await extractFile('audio', await localFile(join(SAMPLES_DIR, 'content/Sample.wav')), ctx);
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0]).toMatchObject({
      kind: 'metadata',
      metadata: { transcription: 'not-configured' },
    });
    expect(doc.sections[0]?.text).toMatch(
      /Sample\.wav: 8\.8 s, 1 speech segment\(s\); not transcribed because transcription is switched off \(P8FS_TRANSCRIPTION=none\)/,
    );
  });

  it('openai backend against a loopback /v1/audio/transcriptions server: WAV segments in, text out', async () => {
    const requests: {
      model: string;
      format: string;
      fileName: string;
      type: string;
      seconds: number;
      auth: string;
    }[] = [];
    const server = await loopbackTranscriptions(async (form, auth) => {
      const file = form.get('file') as File;
      const wav = Buffer.from(await file.arrayBuffer());
      // A real WAV header: RIFF/WAVE, PCM, mono, 16 kHz, 16-bit.
      expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
      expect(wav.toString('latin1', 8, 12)).toBe('WAVE');
      expect([
        wav.readUInt16LE(20),
        wav.readUInt16LE(22),
        wav.readUInt32LE(24),
        wav.readUInt16LE(34),
      ]).toEqual([1, 1, 16_000, 16]);
      const seconds = wav.readUInt32LE(40) / 32_000;
      requests.push({
        model: String(form.get('model')),
        format: String(form.get('response_format')),
        fileName: file.name,
        type: file.type,
        seconds,
        auth,
      });
      if (auth !== 'Bearer loopback-key')
        return {
          status: 401,
          body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } },
        };
      return { status: 200, body: { text: `loopback heard ${seconds.toFixed(1)} seconds` } };
    });
    try {
      const env = {
        ...testStackEnv(),
        P8FS_TRANSCRIPTION: 'openai',
        P8FS_TRANSCRIPTION_BASE_URL: `${server.url}/v1`,
        P8FS_TRANSCRIPTION_MODEL: 'loopback-whisper',
        P8FS_TRANSCRIPTION_API_KEY: 'loopback-key',
      };
      const media = loadConfig(env).media;
      const ctx = localContext({ config: { limits: localContext().config.limits, media } });
      const doc = await extractFile('audio', await localFile(join(SAMPLES_DIR, 'content/Sample.wav')), ctx);
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({
        model: 'loopback-whisper',
        format: 'json',
        fileName: 'segment-1.wav',
        type: 'audio/wav',
      });
      expect(doc.sections.map((s) => s.text)).toEqual([
        `[0.0s - 8.8s]: loopback heard ${requests[0]?.seconds.toFixed(1)} seconds`,
      ]);
      expect(doc.sections[0]).toMatchObject({ kind: 'transcript', source: 'transcription', startSeconds: 0 });
      expect(doc.metadata.transcription).toMatchObject({ backend: 'openai', model: 'loopback-whisper' });

      // A refused key is permanent: the file fails without retries.
      const wrongKey = loadConfig({ ...env, P8FS_TRANSCRIPTION_API_KEY: 'wrong' }).media;
      const refused = extractFile(
        'audio',
        await localFile(join(SAMPLES_DIR, 'content/Sample.wav')),
        localContext({ config: { limits: localContext().config.limits, media: wrongKey } }),
      );
      await expect(refused).rejects.toBeInstanceOf(LlmAuthError);
      await expect(refused).rejects.toThrow(/answered 401 for segment 1 of Sample\.wav/);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('a corrupt file is a CorruptFileError before any backend is asked', async () => {
    const err = await extractFile('audio', join(SAMPLES_DIR, 'small/sample.txt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
  });
});

type Handler = (form: FormData, authorization: string) => Promise<{ status: number; body: unknown }>;

/** POST /v1/audio/transcriptions as OpenAI serves it: multipart/form-data in, JSON out. */
async function loopbackTranscriptions(handle: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let status = 404;
    let body: unknown = { error: { message: `no route ${req.method} ${req.url}` } };
    if (req.method === 'POST' && req.url === '/v1/audio/transcriptions') {
      try {
        const form = await new Request('http://loopback/', {
          method: 'POST',
          headers: { 'content-type': String(req.headers['content-type']) },
          body: Buffer.concat(chunks),
        }).formData();
        ({ status, body } = await handle(form, String(req.headers.authorization ?? '')));
      } catch (error) {
        status = 500;
        body = { error: { message: String(error) } };
      }
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
