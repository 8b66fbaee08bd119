/*
 * hostalias.c — the HOSTALIASES file glibc's resolver consults for a name without a dot (hostname(7)): "alias target"
 * lines, first match wins. Contract in resolver.h ("hostalias.c").
 *
 * The guard reads the file itself because it switches glibc's own use of it off while a real lookup runs
 * (RES_NOALIASES, resstate.c): the target then becomes one more name the lookup may query, decided like any other.
 * Read as glibc reads it: the file named by $HOSTALIASES; each line's first word is compared with the name as DNS
 * names compare (escapes decoded, case folded: dnsname.h), its second word is the target; a line without a second
 * word ends the reading. No stdio (open/read into a fixed buffer); a line longer than the buffer is skipped whole (glibc
 * would split it at 8,191 bytes; a target can never be that long); at most 1 MiB is read, without waiting (a FIFO or
 * /dev/zero named by the program cannot hang or spin the lookup). The file is the program's own choice, so reading
 * it differently from glibc could only change which names are asked, never let one through undecided.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver.h"

#define LINE_MAX_BYTES 1100
#define READ_MAX (1u << 20) /* bytes read at most: a longer file is read as if it ended there */

static int space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/*
 * One line (NUL-terminated, without its newline; nl: it had one). 1: matched (out filled); 0: not this line; -1: stop
 * reading — glibc stops at a line with no blank after its first word, and at a matching line without a target.
 */
static int line(char *s, int nl, const char *want, size_t want_len, char out[EG_MAXDNAME]) {
  char *key = s;
  while (*s && !space(*s)) s++;
  if (*s == '\0' && !nl) return -1; /* the newline is glibc's blank after the key */
  int more = *s != '\0';
  *s = '\0';
  char k[256];
  size_t klen;
  if (eg_dnsname_read(key, k, &klen) != EG_DNSNAME_OK || klen != want_len || memcmp(k, want, klen) != 0) return 0;
  if (!more) return -1;
  s++;
  while (space(*s)) s++;
  if (*s == '\0') return -1;
  char *target = s;
  while (*s && !space(*s)) s++;
  *s = '\0';
  size_t tlen = (size_t)(s - target);
  if (tlen >= EG_MAXDNAME) tlen = EG_MAXDNAME - 1;
  memcpy(out, target, tlen);
  out[tlen] = '\0';
  return 1;
}

int eg_hostalias(const char *name, char out[EG_MAXDNAME]) {
  const char *file = getenv("HOSTALIASES");
  if (file == NULL || file[0] == '\0') return 0;
  char want[256];
  size_t want_len;
  if (eg_dnsname_read(name, want, &want_len) != EG_DNSNAME_OK) return 0;
  /* O_NONBLOCK: a FIFO opens at once and reads as empty instead of waiting for a writer; READ_MAX bounds a file that
   * never ends (/dev/zero) */
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  size_t total = 0;
  char chunk[1024], buf[LINE_MAX_BYTES];
  size_t used = 0;
  int skipping = 0, found = 0, done = 0;
  ssize_t n;
  while (!done && total < READ_MAX && (n = read(fd, chunk, sizeof chunk)) > 0) {
    total += (size_t)n;
    for (ssize_t i = 0; i < n && !done; i++) {
      char c = chunk[i];
      if (c != '\n') {
        if (used < sizeof buf - 1) buf[used++] = c;
        else skipping = 1;
        continue;
      }
      if (!skipping) {
        buf[used] = '\0';
        int r = line(buf, 1, want, want_len, out);
        if (r != 0) found = r > 0, done = 1;
      }
      used = 0, skipping = 0;
    }
  }
  if (!done && !skipping && used > 0) { /* a last line without a newline */
    buf[used] = '\0';
    found = line(buf, 0, want, want_len, out) > 0;
  }
  close(fd);
  return found;
}
