/*
 * line.c — the JSON line builder of line.h. Keys are string literals of ours (never escaped); values are escaped.
 * Array members are written with key NULL.
 */
#include "line.h"

#include <string.h>

#include "json.h"

/* What every close needs in the worst case: one byte per open level, `,"truncated":true` and "\n". */
#define RESERVE (LN_DEPTH + 24)

static int room(struct line *l, size_t need) {
  if (l->full) return 0;
  if (l->n + need + RESERVE > LN_CAP) {
    l->full = 1;
    return 0;
  }
  return 1;
}

static void put(struct line *l, const char *s, size_t n) {
  memcpy(l->b + l->n, s, n);
  l->n += n;
}

/* Separator and key; returns 0 when nothing more fits. */
static int head(struct line *l, const char *key, size_t value_need) {
  size_t klen = key ? strlen(key) + 3 : 0;
  if (!room(l, 1 + klen + value_need)) return 0;
  if (!l->first[l->depth]) put(l, ",", 1);
  l->first[l->depth] = 0;
  if (key) {
    put(l, "\"", 1);
    put(l, key, klen - 3);
    put(l, "\":", 2);
  }
  return 1;
}

void ln_open(struct line *l) {
  l->n = 0;
  l->depth = 0;
  l->full = 0;
  l->first[0] = 1;
  l->b[l->n++] = '{';
}

void ln_strn(struct line *l, const char *key, const char *s, size_t len) {
  /* escaping can grow a byte to 6 ("\u00XX"); measure first into a scratch buffer */
  char tmp[LN_CAP];
  int trunc = 0;
  size_t n = eg_json_escape(tmp, sizeof tmp, s, len, &trunc);
  if (!head(l, key, n + 2)) return;
  put(l, "\"", 1);
  put(l, tmp, n);
  put(l, "\"", 1);
}

void ln_str(struct line *l, const char *key, const char *s) { ln_strn(l, key, s, strlen(s)); }

void ln_u64(struct line *l, const char *key, uint64_t v) {
  char d[24];
  int n = 0;
  do d[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  if (!head(l, key, (size_t)n)) return;
  while (n) l->b[l->n++] = d[--n];
}

void ln_i64(struct line *l, const char *key, int64_t v) {
  if (v >= 0) {
    ln_u64(l, key, (uint64_t)v);
    return;
  }
  char d[24];
  int n = 0;
  uint64_t u = (uint64_t)(-(v + 1)) + 1;
  do d[n++] = (char)('0' + u % 10), u /= 10;
  while (u);
  if (!head(l, key, (size_t)n + 1)) return;
  l->b[l->n++] = '-';
  while (n) l->b[l->n++] = d[--n];
}

void ln_bool(struct line *l, const char *key, int v) {
  if (!head(l, key, 5)) return;
  if (v) put(l, "true", 4);
  else put(l, "false", 5);
}

void ln_ms(struct line *l, const char *key, uint64_t ns) {
  uint64_t us = (ns + 500) / 1000;
  uint64_t whole = us / 1000, frac = us % 1000;
  char d[32];
  int n = 0;
  /* the three decimals, then the integer part, written backwards */
  for (int i = 0; i < 3; i++) d[n++] = (char)('0' + frac % 10), frac /= 10;
  d[n++] = '.';
  do d[n++] = (char)('0' + whole % 10), whole /= 10;
  while (whole);
  if (!head(l, key, (size_t)n)) return;
  while (n) l->b[l->n++] = d[--n];
}

static void open_level(struct line *l, const char *key, char open, char close) {
  if (l->depth + 1 >= LN_DEPTH || !head(l, key, 2)) {
    /* the level is not opened: its members are dropped until the matching close */
    l->full = 1;
    return;
  }
  l->b[l->n++] = open;
  l->depth++;
  l->first[l->depth] = 1;
  l->kind[l->depth] = close;
}

void ln_obj(struct line *l, const char *key) { open_level(l, key, '{', '}'); }
void ln_arr(struct line *l, const char *key) { open_level(l, key, '[', ']'); }

void ln_close(struct line *l) {
  if (l->full) return; /* ln_finish closes what is open */
  if (l->depth == 0) return;
  l->b[l->n++] = l->kind[l->depth];
  l->depth--;
}

size_t ln_finish(struct line *l) {
  int was_full = l->full;
  while (l->depth > 0) {
    l->b[l->n++] = l->kind[l->depth];
    l->depth--;
  }
  if (was_full) {
    const char *t = l->first[0] ? "\"truncated\":true" : ",\"truncated\":true";
    put(l, t, strlen(t));
  }
  l->b[l->n++] = '}';
  l->b[l->n++] = '\n';
  return l->n;
}
