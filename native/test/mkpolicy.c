/*
 * mkpolicy — write a compiled policy from a line-based rule list with the test writer (egpw.c). Test/bench aid only;
 * the product's compiler is `egress-guard compile` (policy/).
 *   mkpolicy OUT [enforce] [loopback] [v1|v2|v3] < rules      (vN: the format version; default EGP_WRITE_VERSION)
 *   rule line: <allow|deny> <tcp|udp|any> <host|wild|cidr> <target> <ports|*> <display-name>
 *   ports: "*" or "80,443,8000-8100" (at most 4 ranges)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egp.h"
#include "egpw.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mkpolicy OUT [enforce] [loopback] [v1|v2|v3] < rules\n");
    return 2;
  }
  uint32_t flags = 0;
  int version = EGP_WRITE_VERSION;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "enforce") == 0) flags |= EGP_FLAG_ENFORCE;
    if (strcmp(argv[i], "loopback") == 0) flags |= EGP_FLAG_ALLOW_LOOPBACK;
    if (strcmp(argv[i], "v1") == 0) version = 1;
    if (strcmp(argv[i], "v2") == 0) version = 2;
    if (strcmp(argv[i], "v3") == 0) version = 3;
  }
  size_t cap = 1024, n = 0;
  struct egpw_rule *rules = malloc(cap * sizeof *rules);
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char act[16], proto[16], kind[16], target[300], ports[200], name[300];
    if (line[0] == '#' || line[0] == '\n') continue;
    if (sscanf(line, "%15s %15s %15s %299s %199s %299s", act, proto, kind, target, ports, name) != 6) {
      fprintf(stderr, "mkpolicy: bad line: %s", line);
      return 1;
    }
    if (n == cap) rules = realloc(rules, (cap *= 2) * sizeof *rules);
    struct egpw_rule *r = &rules[n++];
    memset(r, 0, sizeof *r);
    r->action = strcmp(act, "deny") == 0;
    r->proto = strcmp(proto, "tcp") == 0 ? 1 : strcmp(proto, "udp") == 0 ? 2 : 3;
    r->kind = strcmp(kind, "host") == 0 ? EGPW_HOST : strcmp(kind, "wild") == 0 ? EGPW_WILD : EGPW_CIDR;
    r->target = strdup(target);
    r->name = strdup(name);
    if (strcmp(ports, "*") != 0) {
      for (char *s = strtok(ports, ","); s && r->nports < 4; s = strtok(NULL, ",")) {
        unsigned lo, hi;
        if (sscanf(s, "%u-%u", &lo, &hi) != 2) hi = lo = (unsigned)atoi(s);
        r->ports[r->nports][0] = (uint16_t)lo;
        r->ports[r->nports][1] = (uint16_t)hi;
        r->nports++;
      }
    }
  }
  uint8_t *buf;
  size_t len;
  if (egpw_build_version(rules, n, flags, version, &buf, &len) != 0) {
    fprintf(stderr, "mkpolicy: invalid rule\n");
    return 1;
  }
  FILE *f = fopen(argv[1], "wb");
  if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
    perror(argv[1]);
    return 1;
  }
  return 0;
}
