import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import type { AddressObject, ParsedMail } from 'mailparser';
import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError, NonRetryableError } from '../../domain/errors.js';
import { MemberWriter } from '../helpers/members.js';
import { splitParagraphs } from '../helpers/read-text.js';
import { checkExtractedChars, exhausted, isResourceExhaustion } from '../limits.js';
import type { ContentProvider } from '../provider.js';

// A file name for an attachment that has none, from its type.
const EXTENSIONS: Readonly<Record<string, string>> = {
  'text/plain': '.txt',
  'text/html': '.html',
  'text/csv': '.csv',
  'application/pdf': '.pdf',
  'application/json': '.json',
  'application/zip': '.zip',
  'message/rfc822': '.eml',
  'image/png': '.png',
  'image/jpeg': '.jpg',
};

/**
 * E-mail messages (.eml, RFC 822 / MIME) through mailparser (maintained by the Nodemailer project): the
 * headers (from, to, cc, subject, date) become a metadata section and the body (the text part, or the
 * HTML part as text) paragraphs under the subject as heading. Attachments are handed on as files of
 * their own (members, see members.ts) within the archive limits; inline parts of the HTML body (logos,
 * signatures) are listed, not ingested. A file with none of the usual headers is not an e-mail.
 */
export const emlProvider: ContentProvider = {
  name: 'eml',
  version: '1.0.0',
  mimeTypes: ['message/rfc822'],
  extensions: ['.eml'],
  async extract(file, ctx) {
    const { name } = file;
    const { limits } = ctx.config;
    ctx.signal.throwIfAborted();
    if (file.size === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not an e-mail message`);
    // The message is parsed in memory (mailparser buffers attachments); its size is the upload's.
    let mail: ParsedMail;
    try {
      // mailparser (with nodemailer's MIME code) is loaded on first use, once per extraction process.
      const { simpleParser } = await import('mailparser');
      mail = await simpleParser(createReadStream(file.path, { signal: ctx.signal }), {
        skipImageLinks: true,
        skipTextToHtml: true,
        skipTextLinks: true,
      });
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (isResourceExhaustion(err)) throw exhausted(name, err);
      throw new CorruptFileError(`${name} is not a readable e-mail message (${(err as Error).message})`, {
        cause: err,
      });
    }
    ctx.signal.throwIfAborted();
    const headers = {
      from: addresses(mail.from),
      to: addresses(mail.to),
      cc: addresses(mail.cc),
      subject: mail.subject?.trim() || undefined,
      date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date.toISOString() : undefined,
      messageId: mail.messageId,
    };
    if (!headers.from && !headers.to && !headers.subject && !headers.date && !headers.messageId) {
      throw new CorruptFileError(
        `${name} is not an e-mail message (no From, To, Subject, Date or Message-ID header)`,
      );
    }
    const lines = [
      headers.from && `From: ${headers.from}`,
      headers.to && `To: ${headers.to}`,
      headers.cc && `Cc: ${headers.cc}`,
      headers.subject && `Subject: ${headers.subject}`,
      headers.date && `Date: ${headers.date}`,
    ].filter(Boolean);
    const metadata = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
    const heading = headers.subject;
    const sections: ExtractedSection[] = [
      { text: lines.join('\n') || name, kind: 'metadata', ...(heading ? { heading } : {}), metadata },
    ];
    const body = mail.text ?? '';
    checkExtractedChars(name, limits, body.length);
    for (const paragraph of splitParagraphs(body.replace(/\r\n?/g, '\n'))) {
      sections.push({ text: paragraph, kind: 'paragraph', ...(heading ? { heading } : {}) });
    }

    const writer = new MemberWriter(name, ctx);
    const attachments = mail.attachments.filter((a) => !a.related);
    writer.checkCount(attachments.length);
    const used = new Set<string>();
    for (const [index, attachment] of attachments.entries()) {
      const type = attachment.contentType?.toLowerCase() ?? 'application/octet-stream';
      let fileName = (attachment.filename ?? '').trim();
      if (!fileName) fileName = `attachment-${index + 1}${EXTENSIONS[type] ?? '.bin'}`;
      // Two attachments of one name must stay two files.
      if (used.has(fileName))
        fileName = `${fileName.slice(0, fileName.length - extname(fileName).length)}-${index + 1}${extname(fileName)}`;
      used.add(fileName);
      try {
        await writer.addBuffer(fileName, attachment.content, type);
      } catch (err) {
        if (err instanceof NonRetryableError) throw err;
        ctx.signal.throwIfAborted();
        throw err;
      }
    }
    for (const inline of mail.attachments.filter((a) => a.related)) {
      writer.skipped.push({
        name: inline.filename ?? inline.cid ?? 'inline part',
        reason: 'inline part of the HTML body',
      });
    }
    sections.push(...writer.listing('attachments'));
    return {
      provider: 'eml',
      sections,
      metadata: { ...metadata, attachments: writer.members.length },
      members: writer.members,
    };
  },
};

function addresses(value: AddressObject | AddressObject[] | undefined): string | undefined {
  if (!value) return undefined;
  const text = (Array.isArray(value) ? value : [value])
    .map((a) => a.text)
    .join(', ')
    .trim();
  return text || undefined;
}
