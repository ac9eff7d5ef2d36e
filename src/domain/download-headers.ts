/**
 * How a downloaded file may be shown (issue 25): files are served from the S3 origin, so an uploaded
 * HTML or SVG page opened inline would run its scripts there. Only types a browser renders without
 * running anything are shown inline, and then with that type forced (whatever Content-Type the object
 * was stored with); everything else is `Content-Disposition: attachment`, a download.
 */
export const INLINE_SAFE_TYPES: readonly string[] = [
  'text/plain',
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'audio/mpeg',
  'audio/wav',
  'audio/ogg',
  'video/mp4',
  'video/webm',
];

export interface DownloadHeaders {
  /** The response's Content-Disposition (S3's response-content-disposition). */
  disposition: string;
  /** The response's Content-Type: the safe type for inline files, octet-stream for attachments. */
  contentType: string;
}

/** RFC 6266 filename parameters: an ASCII fallback and the exact name (RFC 8187 encoding). */
function filenameParameters(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export function downloadHeaders(name: string, mimeType: string | null | undefined): DownloadHeaders {
  const type = (mimeType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (INLINE_SAFE_TYPES.includes(type))
    return { disposition: `inline; ${filenameParameters(name)}`, contentType: type };
  return { disposition: `attachment; ${filenameParameters(name)}`, contentType: 'application/octet-stream' };
}
