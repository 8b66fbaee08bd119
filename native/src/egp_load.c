/*
 * egp_load.c — validate a compiled policy (docs/FORMAT.md "How a reader validates") and map it from a path.
 *
 * egp_parse() performs checks 1–10 in order (of versions 1, 2 and 3) and reports the first that fails with a stable code and a static
 * description; O(n) checks on large tables are left to use time (egp_match.c bounds-checks every element it reads).
 * egp_open() uses only open/lseek/pread/mmap/close (no stat: fstat has a GLIBC_2.33 symbol, see docs/LAMBDA.md "glibc and
 * architectures"), copies files up to 1 MiB into a private read-only
 * anonymous mapping and maps larger ones PROT_READ + MAP_PRIVATE, and closes the descriptor, so the host never sees an extra fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "egp.h"
#include "egp_rd.h"

static const uint32_t elem_size[EGP_SEC_COUNT + 1] = EGP_SEC_ELEMENT_SIZES;
static const uint32_t required_by_version[EGP_VERSION + 1] = EGP_SEC_REQUIRED_BY_VERSION;

#define EGP_ERR_CODE(id, code, check, has_expected, what) [id] = code,
#define EGP_ERR_HAS_EXPECTED(id, code, check, has_expected, what) [id] = has_expected,
static const char *const err_codes[EGP_E_COUNT] = {[EGP_OK] = "OK", EGP_ERRORS(EGP_ERR_CODE)};
static const unsigned char err_has_expected[EGP_E_COUNT] = {EGP_ERRORS(EGP_ERR_HAS_EXPECTED)};

const char *egp_err_code(int code) {
  if (code < 0 || code >= EGP_E_COUNT) return "E_POLICY_UNKNOWN";
  return err_codes[code];
}

int egp_err_has_expected(int code) { return code > 0 && code < EGP_E_COUNT && err_has_expected[code]; }

static int fail(struct egp_error *err, int code, const char *what, uint64_t expected, uint64_t got) {
  err->code = code;
  err->what = what;
  err->expected = expected;
  err->got = got;
  return -1;
}

static int is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

static int check_slots(uint32_t slots, uint32_t entries) {
  if (slots == 0) return entries == 0;
  return is_pow2(slots) && slots > entries;
}

/* Fill lens (a 256-bit set of key lengths) from n name entries; returns 1 ("every length possible") when the
 * table is too large to scan at load. Keys longer than 255 bytes can never equal a query (<= 253) and are skipped. */
static int len_filter(const uint8_t *entries, uint32_t n, uint64_t lens[4]) {
  memset(lens, 0, 4 * sizeof lens[0]);
  if (n > EGP_LEN_SCAN_MAX) return 1;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t l = egp_rd32(entries + (uint64_t)EGP_ENTRY_SIZE * i + 8);
    if (l < 256) lens[l >> 6] |= 1ull << (l & 63);
  }
  return 0;
}

/* Version 2 interval trees (FORMAT.md "Interval trees"): fill t with the node count of every inner level, top first,
 * for n elements in leaves of EGP_LEAF_INTERVALS under nodes of `fanout` keys. Returns the total number of nodes. */
static uint64_t tree_shape(uint32_t n, uint32_t fanout, struct egp_tree *t) {
  uint32_t below = (n + EGP_LEAF_INTERVALS - 1) / EGP_LEAF_INTERVALS, counts[EGP_TREE_MAX_DEPTH];
  int depth = 0;
  uint64_t total = 0;
  while (below > 1 && depth < EGP_TREE_MAX_DEPTH) {
    below = (below + fanout - 1) / fanout;
    counts[depth++] = below;
    total += below;
  }
  memset(t, 0, sizeof *t);
  t->depth = depth;
  uint32_t first = 0;
  for (int l = 0; l < depth; l++) { /* level l from the top is counts[depth - 1 - l] */
    t->first[l] = first;
    t->nodes[l] = counts[depth - 1 - l];
    first += t->nodes[l];
  }
  t->nodes[depth] = (n + EGP_LEAF_INTERVALS - 1) / EGP_LEAF_INTERVALS; /* the leaves */
  return total;
}

int egp_parse(egp_t *p, const void *buf, size_t size, int verify_full, struct egp_error *err) {
  const uint8_t *b = buf;
  memset(p, 0, sizeof *p);
  /* 1. size, magic, version, header size, flags */
  if (size < EGP_HEADER_SIZE) return fail(err, EGP_E_TOO_SMALL, "file shorter than the 64-byte header", 64, size);
  if (memcmp(b + EGP_HDR_MAGIC, EGP_MAGIC, EGP_MAGIC_LEN) != 0)
    return fail(err, EGP_E_MAGIC, "magic is not EGRDPOL\\x01", 0, 0);
  uint16_t version = egp_rd16(b + EGP_HDR_VERSION);
  if (version < EGP_MIN_VERSION || version > EGP_VERSION)
    return fail(err, EGP_E_VERSION, "unsupported format version", EGP_VERSION, version);
  const uint32_t nreq = required_by_version[version]; /* ids 1..nreq are required and read; others skipped */
  uint16_t header_size = egp_rd16(b + EGP_HDR_HEADER_SIZE);
  if (header_size != EGP_HEADER_SIZE) return fail(err, EGP_E_HEADER_SIZE, "header_size is not 64", 64, header_size);
  uint32_t flags = egp_rd32(b + EGP_HDR_FLAGS);
  if (flags & ~EGP_FLAGS_KNOWN) return fail(err, EGP_E_FLAGS, "unknown flag bits set", 0, flags);
  /* 2. file size and section count */
  uint64_t file_size = egp_rd64(b + EGP_HDR_FILE_SIZE);
  if (file_size != size)
    return fail(err, EGP_E_SIZE_MISMATCH, "file_size does not match the real size", size, file_size);
  uint32_t nsec = egp_rd32(b + EGP_HDR_SECTION_COUNT);
  if (nsec < EGP_MIN_SECTIONS || nsec > EGP_MAX_SECTIONS)
    return fail(err, EGP_E_SECTION_COUNT, "section_count outside 10..64", EGP_MIN_SECTIONS, nsec);
  uint64_t table_end = EGP_HEADER_SIZE + (uint64_t)EGP_SECTION_ENTRY_SIZE * nsec;
  if (table_end > size)
    return fail(err, EGP_E_SECTION_COUNT, "section table runs past the end of the file", table_end, size);
  /* 3. meta CRC (CRC fields taken as zero) */
  uint32_t crc = egp_crc32(0, b, EGP_HDR_META_CRC32);
  static const uint8_t zero8[8] = {0};
  crc = egp_crc32(crc, zero8, 8);
  crc = egp_crc32(crc, b + EGP_HDR_RULE_COUNT, (size_t)(table_end - EGP_HDR_RULE_COUNT));
  uint32_t meta_crc = egp_rd32(b + EGP_HDR_META_CRC32);
  if (crc != meta_crc) return fail(err, EGP_E_META_CRC, "meta_crc32 mismatch", meta_crc, crc);
  /* 4. body CRC: always up to 1 MiB, above only with verify_full */
  if (size <= EGP_BODY_CRC_ALWAYS_MAX || verify_full) {
    uint32_t bc = egp_crc32(0, b + table_end, (size_t)(size - table_end));
    uint32_t body_crc = egp_rd32(b + EGP_HDR_BODY_CRC32);
    if (bc != body_crc) return fail(err, EGP_E_BODY_CRC, "body_crc32 mismatch", body_crc, bc);
  }
  /* 5. section table: order, then each entry's bounds, then the required ids, then overlaps (the TS reader's order,
   * so both report the same code for the same file) */
  uint64_t sec_off[EGP_SEC_COUNT + 1] = {0}, sec_end[EGP_SEC_COUNT + 1] = {0};
  uint32_t sec_cnt[EGP_SEC_COUNT + 1] = {0};
  uint32_t prev_id = 0;
  for (uint32_t i = 0; i < nsec; i++) {
    const uint8_t *e = b + EGP_HEADER_SIZE + (uint64_t)EGP_SECTION_ENTRY_SIZE * i;
    uint32_t id = egp_rd32(e), count = egp_rd32(e + 4);
    uint64_t off = egp_rd64(e + 8);
    if (id <= prev_id) return fail(err, EGP_E_SECTION_ORDER, "section ids not strictly ascending", prev_id + 1, id);
    prev_id = id;
    if (off % EGP_SECTION_ALIGN != 0)
      return fail(err, EGP_E_SECTION_BOUNDS, "section offset not a multiple of 8", id, off);
    if (off < table_end)
      return fail(err, EGP_E_SECTION_BOUNDS, "section starts inside the header or section table", id, off);
    if (id > nreq) continue;                        /* ids this version does not know are skipped (never read) */
    uint64_t len = (uint64_t)elem_size[id] * count; /* count < 2^32, element size <= 32: no overflow */
    if (off > size || len > size - off)
      return fail(err, EGP_E_SECTION_BOUNDS, "section runs past the end of the file", id, off);
    sec_off[id] = off;
    sec_end[id] = off + len;
    sec_cnt[id] = count;
  }
  for (uint32_t id = 1; id <= nreq; id++)
    if (sec_end[id] == 0) return fail(err, EGP_E_SECTION_MISSING, "a required section is missing", id, 0);
  for (uint32_t i = 1; i <= nreq; i++)
    for (uint32_t j = i + 1; j <= nreq; j++)
      if (sec_off[i] != sec_end[i] && sec_off[j] != sec_end[j] && sec_off[i] < sec_end[j] && sec_off[j] < sec_end[i])
        return fail(err, EGP_E_SECTION_OVERLAP, "sections overlap", j, sec_off[j]);
  p->base = b;
  p->size = size;
  p->version = version;
  p->flags = flags;
  p->rules = b + sec_off[EGP_SEC_RULES];
  p->n_rules = sec_cnt[EGP_SEC_RULES];
  p->ports = b + sec_off[EGP_SEC_PORTS];
  p->n_ports = sec_cnt[EGP_SEC_PORTS];
  p->words = b + sec_off[EGP_SEC_RULESETS];
  p->n_words = sec_cnt[EGP_SEC_RULESETS];
  p->strings = b + sec_off[EGP_SEC_STRINGS];
  p->n_strings = sec_cnt[EGP_SEC_STRINGS];
  p->exact_slots = b + sec_off[EGP_SEC_EXACT_SLOTS];
  p->n_exact_slots = sec_cnt[EGP_SEC_EXACT_SLOTS];
  p->exact = b + sec_off[EGP_SEC_EXACT_ENTRIES];
  p->n_exact = sec_cnt[EGP_SEC_EXACT_ENTRIES];
  p->wild_slots = b + sec_off[EGP_SEC_WILD_SLOTS];
  p->n_wild_slots = sec_cnt[EGP_SEC_WILD_SLOTS];
  p->wild = b + sec_off[EGP_SEC_WILD_ENTRIES];
  p->n_wild = sec_cnt[EGP_SEC_WILD_ENTRIES];
  p->v4 = b + sec_off[EGP_SEC_V4_INTERVALS];
  p->n_v4 = sec_cnt[EGP_SEC_V4_INTERVALS];
  p->v6 = b + sec_off[EGP_SEC_V6_INTERVALS];
  p->n_v6 = sec_cnt[EGP_SEC_V6_INTERVALS];
  p->v4_index = b + sec_off[EGP_SEC_V4_INDEX]; /* version 2 only (counts 0 in version 1: never read) */
  p->n_v4_index = sec_cnt[EGP_SEC_V4_INDEX];
  p->v6_keys = b + sec_off[EGP_SEC_V6_KEYS];
  p->n_v6_keys = sec_cnt[EGP_SEC_V6_KEYS];
  p->v6_index = b + sec_off[EGP_SEC_V6_INDEX];
  p->n_v6_index = sec_cnt[EGP_SEC_V6_INDEX];
  p->table3[0] = b + sec_off[EGP_SEC_EXACT_TABLE]; /* version 3 only (counts 0 before: never read) */
  p->n_table3[0] = sec_cnt[EGP_SEC_EXACT_TABLE];
  p->table3[1] = b + sec_off[EGP_SEC_WILD_TABLE];
  p->n_table3[1] = sec_cnt[EGP_SEC_WILD_TABLE];
  p->name_lens = b + sec_off[EGP_SEC_NAME_LENS];
  p->budget_rx = egp_rd64(b + EGP_HDR_BUDGET_RX);
  p->budget_tx = egp_rd64(b + EGP_HDR_BUDGET_TX);
  p->budget_total = egp_rd64(b + EGP_HDR_BUDGET_TOTAL);
  /* 6. rules */
  uint32_t rule_count = egp_rd32(b + EGP_HDR_RULE_COUNT);
  if (p->n_rules != rule_count)
    return fail(err, EGP_E_RULE_COUNT, "rule_count differs from the RULES section count", p->n_rules, rule_count);
  for (uint32_t i = 0; i < p->n_rules; i++) {
    const uint8_t *r = p->rules + (uint64_t)EGP_RULE_SIZE * i;
    uint32_t name_off = egp_rd32(r), name_len = egp_rd32(r + 4);
    uint8_t action = r[8], proto = r[9], kind = r[10];
    uint32_t pf = egp_rd32(r + 12), pc = egp_rd32(r + 16);
    if (name_len < 1 || name_len > EGP_MAX_RULE_NAME_LEN)
      return fail(err, EGP_E_RULE, "rule name length outside 1..255", i, name_len);
    if ((uint64_t)name_off + name_len > p->n_strings)
      return fail(err, EGP_E_RULE, "rule name outside STRINGS", i, name_off);
    if (action > EGP_ACTION_DENY) return fail(err, EGP_E_RULE, "rule action is not 0 or 1", i, action);
    if (proto < EGP_PROTO_TCP || proto > EGP_PROTO_BOTH)
      return fail(err, EGP_E_RULE, "rule proto is not 1, 2 or 3", i, proto);
    if (kind < EGP_KIND_HOST || kind > EGP_KIND_NAMES_FILE)
      return fail(err, EGP_E_RULE, "rule kind outside 1..4", i, kind);
    if ((uint64_t)pf + pc > p->n_ports) return fail(err, EGP_E_RULE, "rule port ranges outside PORTS", i, pf);
  }
  /* 7. ports */
  for (uint32_t i = 0; i < p->n_ports; i++)
    if (egp_rd16(p->ports + 4ull * i) > egp_rd16(p->ports + 4ull * i + 2))
      return fail(err, EGP_E_PORT_RANGE, "port range with lo > hi", i, 0);
  /* 8. rule sets */
  if (p->n_words < 1 || egp_rd32(p->words) != 0)
    return fail(err, EGP_E_RULESETS, "RULESETS word 0 is not the empty set", 0, 0);
  /* 9. hash slots (version 3: sections 5-8 empty, the name tables 0 or a power of two, NAME_LENS two sets) */
  if (version >= 3 && (p->n_exact_slots != 0 || p->n_exact != 0))
    return fail(err, EGP_E_SLOTS, "EXACT_SLOTS count is not 0 or a power of two above the entries", p->n_exact,
                p->n_exact_slots);
  if (version >= 3 && (p->n_wild_slots != 0 || p->n_wild != 0))
    return fail(err, EGP_E_SLOTS, "WILD_SLOTS count is not 0 or a power of two above the entries", p->n_wild,
                p->n_wild_slots);
  if (!check_slots(p->n_exact_slots, p->n_exact))
    return fail(err, EGP_E_SLOTS, "EXACT_SLOTS count is not 0 or a power of two above the entries", p->n_exact,
                p->n_exact_slots);
  if (!check_slots(p->n_wild_slots, p->n_wild))
    return fail(err, EGP_E_SLOTS, "WILD_SLOTS count is not 0 or a power of two above the entries", p->n_wild,
                p->n_wild_slots);
  if (version >= 3) {
    if (p->n_table3[0] & (p->n_table3[0] - 1))
      return fail(err, EGP_E_SLOTS, "EXACT_TABLE count is not 0 or a power of two", 0, p->n_table3[0]);
    if (p->n_table3[1] & (p->n_table3[1] - 1))
      return fail(err, EGP_E_SLOTS, "WILD_TABLE count is not 0 or a power of two", 0, p->n_table3[1]);
    if (sec_cnt[EGP_SEC_NAME_LENS] != EGP_NAME_LENS_COUNT)
      return fail(err, EGP_E_SLOTS, "NAME_LENS count is not 2", EGP_NAME_LENS_COUNT, sec_cnt[EGP_SEC_NAME_LENS]);
  }
  /* 10. intervals */
  if (p->n_v4 < 1 || egp_rd32(p->v4) != 0)
    return fail(err, EGP_E_INTERVALS, "V4_INTERVALS empty or not starting at 0", 0, 0);
  if (p->n_v6 < 1) return fail(err, EGP_E_INTERVALS, "V6_INTERVALS empty", 0, 0);
  for (int i = 0; i < 16; i++)
    if (p->v6[i] != 0) return fail(err, EGP_E_INTERVALS, "V6_INTERVALS not starting at ::", 0, 0);
  if (version >= 2) { /* the trees' sizes follow from the interval counts; their keys are read bounds-checked */
    uint64_t v4_nodes = tree_shape(p->n_v4, EGP_V4_FANOUT, &p->v4_tree);
    uint64_t v6_nodes = tree_shape(p->n_v6, EGP_V6_FANOUT, &p->v6_tree);
    if (p->n_v4_index != v4_nodes * EGP_V4_FANOUT)
      return fail(err, EGP_E_INTERVALS, "V4_INDEX size does not fit V4_INTERVALS", v4_nodes * EGP_V4_FANOUT,
                  p->n_v4_index);
    if (p->n_v6_keys != p->n_v6)
      return fail(err, EGP_E_INTERVALS, "V6_KEYS count differs from V6_INTERVALS", p->n_v6, p->n_v6_keys);
    if (p->n_v6_index != v6_nodes * EGP_V6_FANOUT)
      return fail(err, EGP_E_INTERVALS, "V6_INDEX size does not fit V6_INTERVALS", v6_nodes * EGP_V6_FANOUT,
                  p->n_v6_index);
    if (egp_rd64(p->v6_keys) != 0) return fail(err, EGP_E_INTERVALS, "V6_KEYS not starting at 0", 0, 0);
  }
  /* derived length filters (see egp.h; version 3 stores them: NAME_LENS); entries are read bounds-checked: the
   * sections were validated above (empty in version 3) */
  p->exact_all_lens = len_filter(p->exact, p->n_exact, p->exact_lens);
  p->wild_all_lens = len_filter(p->wild, p->n_wild, p->wild_lens);
  err->code = EGP_OK;
  err->what = "ok";
  return 0;
}

int egp_open(egp_t *p, const char *path, int verify_full, struct egp_error *err) {
  memset(p, 0, sizeof *p);
  if (path == NULL || path[0] == '\0') return fail(err, EGP_E_MISSING, "EGRESS_GUARD_POLICY is not set", 0, 0);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    return fail(err, e == ENOENT ? EGP_E_MISSING : EGP_E_OPEN,
                e == ENOENT ? "policy file does not exist" : "cannot open policy file", 0, (uint64_t)e);
  }
  int r = egp_load_fd(p, fd, verify_full, err);
  close(fd);
  return r;
}

int egp_load_fd(egp_t *p, int fd, int verify_full, struct egp_error *err) {
  memset(p, 0, sizeof *p);
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) {
    int e = errno;
    return fail(err, EGP_E_OPEN, "cannot size policy file (not a regular file?)", 0, (uint64_t)e);
  }
  if ((uint64_t)end < EGP_HEADER_SIZE) {
    return fail(err, EGP_E_TOO_SMALL, "file shorter than the 64-byte header", 64, (uint64_t)end);
  }
  if ((uint64_t)end > (uint64_t)SIZE_MAX / 2) {
    return fail(err, EGP_E_OPEN, "policy file too large to map (not a regular file?)", 0, (uint64_t)end);
  }
  void *m;
  int e = 0;
  if ((uint64_t)end <= EGP_BODY_CRC_ALWAYS_MAX) {
    /* Small files are copied into a private anonymous mapping: a later in-place truncation of the file (instead of
     * the atomic rename the compiler does) can then never raise SIGBUS in the host. */
    m = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      size_t got = 0;
      while (got < (size_t)end) {
        ssize_t n = pread(fd, (uint8_t *)m + got, (size_t)end - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
      }
      if (got != (size_t)end) {
        e = EIO;
        munmap(m, (size_t)end);
        m = MAP_FAILED;
      } else {
        mprotect(m, (size_t)end, PROT_READ);
      }
    } else {
      e = errno;
    }
  } else {
    m = mmap(NULL, (size_t)end, PROT_READ, MAP_PRIVATE, fd, 0);
    e = errno;
  }
  if (m == MAP_FAILED) return fail(err, EGP_E_OPEN, "cannot read or map policy file", 0, (uint64_t)e);
  if (egp_parse(p, m, (size_t)end, verify_full, err) != 0) {
    munmap(m, (size_t)end);
    memset(p, 0, sizeof *p);
    return -1;
  }
  return 0;
}
