/*
 * egpcheck — validate many compiled policies in one process with the interposer's loader (egp_open), for the
 * corrupted-file corpus of test/hardening/corrupt.test.ts (one process instead of one per file).
 *
 *   egpcheck FILE...   → one line per file, in order: OK  or  E_POLICY_<CODE>
 */
#include <stdio.h>
#include <sys/mman.h>

#include "egp.h"

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    egp_t p;
    struct egp_error err;
    if (egp_open(&p, argv[i], 0, &err) == 0) {
      puts("OK");
      munmap((void *)p.base, (size_t)p.size);
    } else {
      puts(egp_err_code(err.code));
    }
  }
  return 0;
}
