/*
 * json.h — a bounded JSON object writer into a caller's buffer (the log writer's stack buffer).
 *
 * Contract: whatever bytes a string holds (quotes, backslashes, newlines, control bytes, invalid UTF-8), the output is
 * one valid JSON object on one line: `"` `\` and every byte < 0x20 and 0x7f are escaped, valid UTF-8 is kept,
 * U+2028/U+2029 are escaped, and each byte of an invalid UTF-8 sequence becomes \ufffd. A value that does not fit is
 * truncated at a character boundary and ends in "..."; a field that does not fit at all is left out. jb_finish()
 * always has room for the closing "}\n". No allocation, no libc calls except memcpy.
 */
#ifndef EG_JSON_H
#define EG_JSON_H
#include <stddef.h>
#include <stdint.h>

struct jbuf {
  char *b;
  size_t cap; /* usable bytes, excluding the 2 reserved for "}\n" */
  size_t n;
  int fields;
  int truncated;
};

void jb_init(struct jbuf *j, char *buf, size_t size); /* size >= 16 */
void jb_str(struct jbuf *j, const char *key, const char *val, size_t len);
void jb_u64(struct jbuf *j, const char *key, uint64_t v);
void jb_i64(struct jbuf *j, const char *key, int64_t v);
void jb_bool(struct jbuf *j, const char *key, int v);
size_t jb_finish(struct jbuf *j); /* appends "}\n"; returns the line length */

/* Escape `len` bytes of s into out (no quotes added); returns bytes written (stops at a character boundary when out
 * is full and sets *truncated). Exposed for the unit tests. */
size_t eg_json_escape(char *out, size_t cap, const char *s, size_t len, int *truncated);

#endif
