/*
 * egname.c — reads names as the interposer does (src/dnsname.c), for the C-vs-TypeScript test
 * (test/native/dnsname.test.ts).
 *
 *   egname < lines
 * Each input line is one name as lower-case hex bytes (so any byte but NUL can be given); each output line is
 * `ok <name>` or `bad`. Exit 0; 2 on an unreadable input line.
 */
#include <stdio.h>
#include <string.h>

#include "dnsname.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int main(void) {
  static char line[8192];
  static char name[4096];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t n = strcspn(line, "\r\n");
    if (n % 2 != 0 || n / 2 >= sizeof name) return 2;
    for (size_t i = 0; i < n; i += 2) {
      int hi = hexval(line[i]), lo = hexval(line[i + 1]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return 2;
      name[i / 2] = (char)(hi * 16 + lo);
    }
    name[n / 2] = '\0';
    char out[256];
    size_t len;
    if (eg_dnsname_read(name, out, &len) == EG_DNSNAME_OK) printf("ok %s\n", out);
    else puts("bad");
  }
  return 0;
}
