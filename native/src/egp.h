/*
 * egp.h — reader of the compiled policy format (docs/FORMAT.md, versions 1, 2 and 3).
 *
 * Contract: egp_parse() validates a buffer exactly as FORMAT.md "How a reader validates" says and fills an egp_t of
 * pointers into that buffer; it never allocates and never reads outside [buf, buf+size). The decide functions
 * implement FORMAT.md "Decisions" with no allocation and no system call; every offset read from the file is
 * bounds-checked at use (a failed check makes that element "not found"). An egp_t is immutable after egp_parse(),
 * so any number of threads may query it concurrently without a lock.
 * These objects (egp_load.c, egp_match.c, crc32.c) are shared by the interposer, the egpq query tool, the C unit
 * tests, the benchmarks and (later) the fuzz harnesses: keep them free of hook or logging dependencies.
 */
#ifndef EGP_H
#define EGP_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "egp reader assumes a little-endian host (x86_64, aarch64)"
#endif

#include "gen/egp_errors.h" /* enum egp_err: the stable reader error codes (contracts/errors.yaml) */
#include "gen/egp_format.h" /* every constant of the format (contracts/format.yaml) */

/* Reader API values that are not part of the file: a query's protocol or port when the caller does not know it. */
enum { EGP_PROTO_UNKNOWN = 0 };
#define EGP_PORT_UNKNOWN (-1)

struct egp_error {
  int code;          /* enum egp_err */
  uint64_t expected; /* meaningful when egp_err_has_expected(code) */
  uint64_t got;
  const char *what; /* static string: which check failed */
};

/* The shape of a version 2 interval tree (FORMAT.md "Interval trees"), derived at parse time from the interval count:
 * inner level l (0 = the root) has nodes[l] nodes starting at node first[l] of the index; nodes[depth] is the number of
 * leaves. depth 0: one leaf, no index. */
#define EGP_TREE_MAX_DEPTH 12
struct egp_tree {
  int depth;
  uint32_t first[EGP_TREE_MAX_DEPTH], nodes[EGP_TREE_MAX_DEPTH + 1];
};

typedef struct egp {
  const uint8_t *base;
  uint64_t size;
  uint32_t version; /* 1, 2 or 3 */
  uint32_t flags;
  uint32_t n_rules, n_ports, n_words, n_strings;
  uint32_t n_exact_slots, n_exact, n_wild_slots, n_wild, n_v4, n_v6;
  const uint8_t *rules, *ports, *words, *strings;
  const uint8_t *exact_slots, *exact, *wild_slots, *wild, *v4, *v6;
  const uint8_t *v4_index, *v6_keys, *v6_index; /* version 2 */
  uint32_t n_v4_index, n_v6_keys, n_v6_index;
  const uint8_t *table3[2], *name_lens; /* version 3: EXACT_TABLE, WILD_TABLE; NAME_LENS (2 x 32 bytes) */
  uint32_t n_table3[2];                 /* slots of each (0 or a power of two) */
  struct egp_tree v4_tree, v6_tree;
  uint64_t budget_rx, budget_tx, budget_total;
  /* Derived at parse time (an optimisation, not part of the format): bit L set when some entry of the table has a
   * key of L bytes (L <= 255). A name or suffix whose length has no bit cannot be in the table, so it is neither
   * hashed nor probed. all_lens = 1 when the table was too large to scan (> EGP_LEN_SCAN_MAX entries): no filter. */
  uint64_t exact_lens[4], wild_lens[4];
  int exact_all_lens, wild_all_lens;
} egp_t;
#define EGP_LEN_SCAN_MAX 262144u

/* An address to decide on: IPv4 as the host-order number, IPv6 as 16 network-order bytes (never v4-mapped). */
typedef struct egp_ip {
  uint8_t is_v6;
  uint32_t v4;
  uint8_t v6[16];
} egp_ip;

typedef struct egp_decision {
  int allow;    /* 1 allow, 0 deny */
  int32_t rule; /* rule index >= 0, or EGP_RULE_* */
} egp_decision;

/* Validate `buf` and fill `p`. verify_full forces the body CRC above 1 MiB. Returns 0 or -1 with *err filled. */
int egp_parse(egp_t *p, const void *buf, size_t size, int verify_full, struct egp_error *err);

/* Map `path` read-only and parse it. On error returns -1 with *err filled and nothing mapped. */
int egp_open(egp_t *p, const char *path, int verify_full, struct egp_error *err);
/* The same for a file the caller opened (it stays open; the caller closes it). */
int egp_load_fd(egp_t *p, int fd, int verify_full, struct egp_error *err);

/* "E_POLICY_MAGIC" … for an egp_err. */
const char *egp_err_code(int code);

/* 1 when an error of this code carries meaningful expected/got values (contracts/errors.yaml `expected_got`). */
int egp_err_has_expected(int code);

/* Normalise a host name into out (ASCII lower-case, one trailing dot removed). Returns the length, or -1 when the
 * result would be empty or longer than 253 bytes (such a name can match no entry). */
int egp_normalize_name(const char *name, size_t len, char out[256]);

/* FORMAT.md decide_name for an already normalised name. port: 0–65535 or EGP_PORT_UNKNOWN. */
void egp_decide_name(const egp_t *p, const char *name, size_t len, int port, int proto, egp_decision *d);

/* FORMAT.md decide_addr. bound may be NULL (no bound name); it must be normalised. */
void egp_decide_addr(const egp_t *p, const egp_ip *ip, int port, int proto, const char *bound, size_t bound_len,
                     egp_decision *d);

/* The rule's display name (not NUL-terminated) or NULL for an out-of-range index. */
const char *egp_rule_name(const egp_t *p, int32_t rule, uint32_t *len);

/* FNV-1a 32 + murmur3 finaliser (FORMAT.md "Hash"). */
uint32_t egp_hash(const uint8_t *key, size_t len);

/* The version 3 name hash h3 (FORMAT.md "Version 3 name tables"); reads only key[0, len). */
uint32_t egp_hash3(const uint8_t *key, size_t len);

/* zlib CRC-32 */
uint32_t egp_crc32(uint32_t crc, const void *buf, size_t len);

#endif
