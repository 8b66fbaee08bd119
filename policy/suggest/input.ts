/**
 * Streams inputs through the line splitter and record extractor into one aggregator. Each input is read chunk by
 * chunk (`for await` over a Readable), so memory does not depend on input size.
 * Inputs: file paths, or `-` for stdin. Gzip-compressed files (`.gz`, as CloudWatch Logs exports to S3 are) are
 * decompressed on the fly.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Aggregator } from './aggregate.js';
import { LineSplitter } from './lines.js';
import { MARK, RecordExtractor } from './records.js';

export interface NamedInput {
  /** shown in bad-line locations (`name:line`) */
  name: string;
  stream: Readable;
}

/** Opens a path (`-` = `stdin`). */
export function openInput(path: string, stdin: Readable): NamedInput {
  if (path === '-') return { name: '-', stream: stdin };
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!path.endsWith('.gz')) return { name: path, stream: raw };
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return { name: path, stream: raw.pipe(gunzip) };
}

/** Reads one input to its end; returns the number of lines read. */
export async function readInput(input: NamedInput, agg: Aggregator): Promise<number> {
  const extractor = new RecordExtractor(agg, input.name);
  const splitter = new LineSplitter(extractor, MARK);
  for await (const chunk of input.stream) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer));
  }
  splitter.end();
  extractor.end();
  agg.stats.lines += splitter.lines;
  return splitter.lines;
}
