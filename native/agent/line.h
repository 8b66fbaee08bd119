/*
 * line.h — one JSON object on one line, with nested objects and arrays, into a fixed buffer (the agent's log and
 * EMF lines). Strings are escaped by json.c's eg_json_escape (any bytes in, valid JSON out). A line that would not
 * fit is cut at a field boundary and closed properly (`"truncated":true` is added when room remains), so the result
 * is always one valid JSON object ending in "\n". No allocation.
 */
#ifndef EG_AGENT_LINE_H
#define EG_AGENT_LINE_H
#include <stddef.h>
#include <stdint.h>

#define LN_CAP 4000 /* below PIPE_BUF: one write(2) never interleaves with another process's line */
#define LN_DEPTH 8

struct line {
  char b[LN_CAP + 64];
  size_t n;
  int depth;
  int first[LN_DEPTH]; /* no member written yet at this depth */
  char kind[LN_DEPTH]; /* the closing bracket of each open level */
  int full;
};

void ln_open(struct line *l); /* "{" */
void ln_str(struct line *l, const char *key, const char *s);
void ln_strn(struct line *l, const char *key, const char *s, size_t len);
void ln_u64(struct line *l, const char *key, uint64_t v);
void ln_i64(struct line *l, const char *key, int64_t v);
void ln_bool(struct line *l, const char *key, int v);
void ln_ms(struct line *l, const char *key, uint64_t ns); /* milliseconds with 3 decimals */
void ln_obj(struct line *l, const char *key);             /* key: { … ln_close */
void ln_arr(struct line *l, const char *key);             /* key: [ … ln_close */
void ln_close(struct line *l);                            /* } or ] */
/* Closes every open level, appends "\n"; returns the length. */
size_t ln_finish(struct line *l);

#endif
