/* egp_rd.h — little-endian loads from the mapped file (unaligned-safe; the host is little-endian, see egp.h). */
#ifndef EGP_RD_H
#define EGP_RD_H
#include <stdint.h>
#include <string.h>

static inline uint16_t egp_rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline uint32_t egp_rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t egp_rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
#endif
