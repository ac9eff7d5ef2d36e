/**
 * How the original P8FS names a file's chunks in `resources` (Healer-AI/p8fs,
 * p8fs/src/p8fs/workers/storage.py, process_file), so that its verify query (`SELECT name, category FROM
 * resources …` → `Sample_chunk_0 | content_chunk`) reads our rows as it reads its own. `key` is the file's
 * key in the tenant's bucket, which the original calls file_path.
 */

/** The category of every chunk of an ingested file. */
export const CHUNK_CATEGORY = 'content_chunk';

/** Python's Path(name).stem: the last path segment without its last suffix ('a.tar.gz' → 'a.tar'). */
export function fileStem(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(0, dot) : name;
}

/** `{stem}_chunk_{i}`. */
export function chunkName(key: string, ordinal: number): string {
  return `${fileStem(key)}_chunk_${ordinal}`;
}

/** `{file_path}#chunk_{i}`. */
export function chunkUri(key: string, ordinal: number): string {
  return `${key}#chunk_${ordinal}`;
}

/** The original's chunk_type: 'transcription' for speech turned into text, 'text' otherwise. */
export function chunkType(sources: readonly string[] | undefined): 'transcription' | 'text' {
  return sources?.includes('transcription') ? 'transcription' : 'text';
}
