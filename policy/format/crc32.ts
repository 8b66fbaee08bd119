/**
 * CRC-32 (ISO-HDLC / zlib: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), as docs/FORMAT.md uses
 * for `meta_crc32` and `body_crc32`. Uses `zlib.crc32` (Node ≥ 20.15) and falls back to a table implementation.
 */
import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;
const native: Crc32Fn | undefined = (zlib as { crc32?: Crc32Fn }).crc32;

let table: Uint32Array | undefined;
function tableCrc(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function crc32(data: Uint8Array): number {
  return native ? native(data) >>> 0 : tableCrc(data);
}
