/*
 * egpw.h — a small writer of the compiled policy format (docs/FORMAT.md), for the C unit tests and benchmarks only.
 * It lets native tests build files of any size (a 1M-rule policy for the benchmark, hand-corrupted variants) without
 * the TypeScript compiler; the golden fixtures written by the real compiler are checked separately by unit.c.
 * Not linked into libegressguard.so.
 */
#ifndef EGPW_H
#define EGPW_H
#include <stddef.h>
#include <stdint.h>

enum { EGPW_HOST = 1, EGPW_WILD = 2, EGPW_CIDR = 3 };

struct egpw_rule {
  const char *name;   /* display name */
  int action;         /* 0 allow, 1 deny */
  int proto;          /* 1 tcp, 2 udp, 3 both */
  int kind;           /* EGPW_HOST (target = name), EGPW_WILD (target = suffix, without "*."), EGPW_CIDR */
  const char *target; /* for EGPW_CIDR: "10.0.0.0/8", "2001:db8::/32", "1.2.3.4" */
  int nports;         /* 0 = every port */
  uint16_t ports[4][2];
};

/* Build a file from rules (any order: the writer puts allow rules first, stable). flags: FORMAT.md header flags.
 * Returns 0 and a malloc'ed buffer, or -1 on a bad rule. */
int egpw_build(const struct egpw_rule *rules, size_t n, uint32_t flags, uint8_t **out, size_t *out_len);
/* The same in a given format version (1, 2 or 3); egpw_build writes EGP_WRITE_VERSION. */
int egpw_build_version(const struct egpw_rule *rules, size_t n, uint32_t flags, int version, uint8_t **out,
                       size_t *out_len);

#endif
