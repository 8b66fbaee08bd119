/*
 * netdev.h — /proc/net/dev snapshots and byte arithmetic (the source of truth for reported bytes; docs/METERING.md
 * "What is measured"). Pure functions except nd_read(); no allocation.
 *
 * - nd_parse(text, len, snap): every interface line, in file order, with its rx/tx byte and packet counters (u64,
 *   exact). The header lines are recognised by their `|`; a line that is not `name: 16 unsigned integers` is skipped
 *   and its 1-based number recorded in `malformed` (tolerate, report, never guess). Kernel format
 *   (net/core/net-procfs.c) "%6s:%8llu %7llu …": a long name or wide counter leaves no blank after the colon, and
 *   names never hold ':' or blanks, so the first colon ends the name. Only the four counters used are validated.
 *   Returns 0, or -1 when the text has no header line at all (not /proc/net/dev: E_PROCNETDEV_FORMAT).
 * - nd_filter: which interfaces count. Patterns are exact names or globs with `*`; `include` (empty = all) is an
 *   allowlist, `exclude` (default `lo`) always wins. Lambda's interface names change (vinternal_1, vint_runtime,
 *   telemetry1_sb …), so none is hard-coded.
 * - nd_delta(prev, cur, filter, d): bytes between two snapshots over the counted interfaces. A counter that went
 *   backwards was reset: what it carried since is counted (the best lower bound) and the interface is listed in
 *   `reset`; an interface that appeared counts from 0 (`appeared`); one that vanished contributes nothing (`vanished`).
 * - nd_total(cur, filter): sum of the absolute counters (bytes since each interface came up).
 * - nd_read(fd, …): the whole file by pread(2) from offset 0, parsed. /proc/net/dev is a seq_file: one read returns
 *   at most one kernel buffer (at least 4096 bytes) and stops short of it only at the end of the file or when the next
 *   line would not fit (a line is at most 352 bytes: a 15-byte name and 16 counters of up to 20 digits). So a read of
 *   at most ND_SHORT_READ bytes that ends a line ends the file, and the pread that would confirm it — which makes the
 *   kernel format every line again to find the offset — is not made. A longer read, or one ending mid-line, is
 *   followed by the next until a read returns 0 (a regular file: the same).
 */
#ifndef EG_NETDEV_H
#define EG_NETDEV_H
#include <stddef.h>
#include <stdint.h>

#define ND_MAX_IFACES 64
#define ND_NAME_MAX 32 /* the kernel's names are at most 15 bytes; longer ones are malformed */
#define ND_MAX_MALFORMED 16
#define ND_MAX_PATTERNS 16
#define ND_SHORT_READ (4096 - 512)

struct nd_iface {
  char name[ND_NAME_MAX];
  uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

struct nd_snap {
  int n;
  struct nd_iface ifs[ND_MAX_IFACES];
  int n_malformed; /* lines skipped (may exceed ND_MAX_MALFORMED; the first ones are listed) */
  int malformed[ND_MAX_MALFORMED];
};

struct nd_filter {
  int n_include, n_exclude;
  char include[ND_MAX_PATTERNS][ND_NAME_MAX];
  char exclude[ND_MAX_PATTERNS][ND_NAME_MAX];
};

struct nd_delta {
  uint64_t rx, tx;
  /* names, as indexes: reset/appeared into cur, vanished into prev */
  int n_reset, n_appeared, n_vanished;
  int reset[ND_MAX_IFACES], appeared[ND_MAX_IFACES], vanished[ND_MAX_IFACES];
};

int nd_parse(const char *text, size_t len, struct nd_snap *snap);
/* Fills a filter from comma lists (NULL or "" = default: include all, exclude "lo"). Returns 0, or -1 when a list has
 * more than ND_MAX_PATTERNS entries or an entry longer than ND_NAME_MAX-1 (the caller warns and uses the default). */
int nd_filter_init(struct nd_filter *f, const char *include, const char *exclude);
int nd_counts(const struct nd_filter *f, const char *name);
void nd_delta(const struct nd_snap *prev, const struct nd_snap *cur, const struct nd_filter *f, struct nd_delta *d);
void nd_total(const struct nd_snap *cur, const struct nd_filter *f, uint64_t *rx, uint64_t *tx);
/* 1 when `name` matches the glob `pat` (`*` = any run of bytes). */
int nd_glob(const char *pat, const char *name);

/* Reads fd (an open /proc/net/dev) from offset 0 into buf and parses it. Returns 0, -1 on a read error (errno set),
 * -2 when it is not /proc/net/dev or does not fit in cap bytes. */
int nd_read(int fd, char *buf, size_t cap, struct nd_snap *snap);

#endif
