import { describe, expect, it } from 'vitest';
import { chunkName, chunkType, chunkUri, fileStem } from '../../src/domain/original-rows.js';

describe('chunk rows named as the original P8FS names them', () => {
  it("takes Python's Path.stem of the key's last segment", () => {
    // Python: [Path(n).stem for n in ('Sample.pdf', 'a.tar.gz', '.bashrc', 'noext', 'a..b')]
    expect(['Sample.pdf', 'a.tar.gz', '.bashrc', 'noext', 'a..b'].map(fileStem)).toEqual([
      'Sample',
      'a.tar',
      '.bashrc',
      'noext',
      'a.',
    ]);
    expect(fileStem('uploads/2025/10/11/report.final.pdf')).toBe('report.final');
    expect(fileStem('a.zip.parts/docs/readme.md')).toBe('readme');
  });

  it("gives the seeds' Sample_chunk_0 and {file_path}#chunk_{i}", () => {
    expect(chunkName('test/Sample.pdf', 0)).toBe('Sample_chunk_0');
    expect(chunkName('test/Sample.md', 12)).toBe('Sample_chunk_12');
    expect(chunkUri('uploads/Sample.pdf', 3)).toBe('uploads/Sample.pdf#chunk_3');
  });

  it('calls speech turned into text a transcription, everything else text', () => {
    expect(chunkType(['transcription'])).toBe('transcription');
    expect(chunkType(['ocr', 'transcription'])).toBe('transcription');
    expect(chunkType(['ocr'])).toBe('text');
    expect(chunkType(undefined)).toBe('text');
  });
});
