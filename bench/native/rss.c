/*
 * rss — the resident memory of this process after it has used the network once, split by mapping.
 *
 *   rss [POLICY_PATH]      (run plain, or with LD_PRELOAD=libegressguard.so EGRESS_GUARD_POLICY=POLICY_PATH)
 * Does one getaddrinfo("localhost") and one loopback TCP connect (so a guard has loaded its policy and taken its
 * hot paths), then reads /proc/self/smaps and prints one JSON line, sizes in KiB:
 *   rssKb        total Rss of the process
 *   policyRssKb  Rss of the mapping(s) of POLICY_PATH (the compiled policy file: page cache shared with every other
 *                process mapping it, and only the touched pages are resident) — counted apart. A file of at most
 *                1 MiB is not mapped but copied into anonymous memory (native/src/egp_load.c), so it shows as 0 here
 *                and its bytes are part of what the library adds.
 *   policySizeKb Size (virtual) of those mappings
 *   libRssKb     Rss of libegressguard.so's own mappings (code and data)
 * The orchestrator (bench/run.ts) runs it plain and guarded, interleaved, and reports guarded − plain − policyRss
 * as the memory the library adds besides the mapped file.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void use_network(void) {
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo("localhost", "80", &hints, &res) == 0) freeaddrinfo(res);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) exit(3);
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) exit(4);
  int s = accept(ls, NULL, NULL);
  close(s), close(c), close(ls);
}

int main(int argc, char **argv) {
  char policy[4096] = "";
  if (argc > 1 && !realpath(argv[1], policy)) return 2;
  use_network();
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return 1;
  char line[4352];
  long rss = 0, prss = 0, psize = 0, lrss = 0;
  int cur = 0; /* 0 other, 1 policy, 2 library */
  while (fgets(line, sizeof line, f)) {
    long kb;
    char path[4096];
    if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
      /* a mapping header (lower-case hex address range; field lines start with an upper-case name) */
      cur = 0;
      if (sscanf(line, "%*[0-9a-f]-%*[0-9a-f] %*s %*s %*s %*s %4095s", path) == 1) {
        if (policy[0] && strcmp(path, policy) == 0) cur = 1;
        else if (strstr(path, "libegressguard.so")) cur = 2;
      }
    } else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
      rss += kb;
      if (cur == 1) prss += kb;
      if (cur == 2) lrss += kb;
    } else if (cur == 1 && sscanf(line, "Size: %ld kB", &kb) == 1) {
      psize += kb;
    }
  }
  fclose(f);
  printf("{\"rssKb\":%ld,\"policyRssKb\":%ld,\"policySizeKb\":%ld,\"libRssKb\":%ld}\n", rss, prss, psize, lrss);
  return 0;
}
