/*
 * check.h — the invariant check of every fuzz harness: CHECK(c) names the harness's file, the line and the condition
 * on stderr and aborts when c is false, which libFuzzer records as a crash with the input that caused it.
 */
#ifndef EG_FUZZ_CHECK_H
#define EG_FUZZ_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                                       \
  do {                                                                                                                 \
    if (!(c)) check_failed(__FILE__, __LINE__, #c);                                                                    \
  } while (0)
static inline void check_failed(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  abort();
}
#endif
