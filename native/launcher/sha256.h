/*
 * sha256.h — SHA-256 (FIPS 180-4) for the launcher: the record key and the content checks of its inputs.
 * Contract: eg_sha256_init/update/final compute the digest of the bytes given to update, in order; eg_sha256_hex
 * writes the 64 lower-case hex digits and a NUL to out[65]. No allocation, no I/O.
 */
#ifndef EG_LAUNCHER_SHA256_H
#define EG_LAUNCHER_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct eg_sha256 {
  uint32_t h[8];
  uint64_t len;
  unsigned char buf[64];
  size_t nbuf;
};

void eg_sha256_init(struct eg_sha256 *s);
void eg_sha256_update(struct eg_sha256 *s, const void *data, size_t n);
void eg_sha256_final(struct eg_sha256 *s, unsigned char out[32]);
void eg_sha256_hex(const unsigned char digest[32], char out[65]);
#endif
