/**
 * A deterministic zip writer for the layer zips: the same entries give the same bytes on any machine.
 *
 * Contract: `writeZip(entries)` returns a zip (APPNOTE 6.3, no zip64) holding the entries in the order given, each
 * STORED (no compression: the bytes then depend only on the inputs, never on a zlib version; the npm tarball and
 * Lambda's upload compress anyway), with the fixed timestamp 1980-01-01 00:00 (the zip epoch), the Unix mode of the
 * entry (a regular file) in the external attributes and "made by Unix" so unzip and Lambda restore it, no extra
 * fields, no comments, no directory entries. Throws on a name that is empty, absolute, contains `..` or a backslash,
 * or repeats, and on sizes past the 32-bit zip limits.
 */
import { crc32 } from '../../policy/format/crc32.js';

export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
  /** Permission bits, e.g. 0o755. */
  readonly mode: number;
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
const VERSION_NEEDED = 10; // 1.0: stored
const MADE_BY = (3 << 8) | 30; // Unix, spec 3.0
const S_IFREG = 0o100000;

function checkName(name: string, seen: Set<string>): void {
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
    throw new Error(`zip: invalid entry name ${JSON.stringify(name)}`);
  }
  if (seen.has(name)) throw new Error(`zip: duplicate entry ${JSON.stringify(name)}`);
  seen.add(name);
}

export function writeZip(entries: readonly ZipEntry[]): Buffer {
  const seen = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    checkName(e.name, seen);
    const name = Buffer.from(e.name, 'utf8');
    const size = e.data.byteLength;
    if (size > 0xfffffffe || offset > 0xfffffffe) throw new Error(`zip: ${e.name}: too large for a zip without zip64`);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(0x0800, 6); // flags: names are UTF-8
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY, 4);
    central.writeUInt16LE(VERSION_NEEDED, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(size, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    // extra length 30, comment length 32, disk 34, internal attributes 36: all 0
    central.writeUInt32LE(((S_IFREG | (e.mode & 0o7777)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(e.data.buffer, e.data.byteOffset, size));
    centrals.push(central, name);
    offset += 30 + name.length + size;
  }
  const cdSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}
