/* crc32.c — zlib/ISO-HDLC CRC-32 (FORMAT.md "CRC-32"), slice-by-8, no state, no allocation. */
#include <string.h>

#include "egp.h"
#include "crc32_table.h"

uint32_t egp_crc32(uint32_t crc, const void *buf, size_t len) {
  const uint8_t *p = buf;
  crc = ~crc;
  while (len >= 8) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    a ^= crc;
    crc = crc32_tab[7][a & 0xff] ^ crc32_tab[6][(a >> 8) & 0xff] ^ crc32_tab[5][(a >> 16) & 0xff] ^
          crc32_tab[4][a >> 24] ^ crc32_tab[3][b & 0xff] ^ crc32_tab[2][(b >> 8) & 0xff] ^
          crc32_tab[1][(b >> 16) & 0xff] ^ crc32_tab[0][b >> 24];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ crc32_tab[0][(crc ^ *p++) & 0xff];
  return ~crc;
}
