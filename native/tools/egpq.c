/*
 * egpq — query a compiled policy with the interposer's own loader and matcher (not the hooks).
 *
 *   egpq --validate FILE   prints {"ok":true,…} or {"ok":false,"error":"E_POLICY_…","what":…}; exit 0 / 1
 *   egpq FILE              reads one query per line on stdin, prints one JSON decision per line on stdout:
 *     name <name> <port|-> <tcp|udp|->             FORMAT.md decide_name (the name is normalised first)
 *     addr <ip> <port|-> <tcp|udp|-> [<bound>]     FORMAT.md decide_addr (IPv4-mapped normalised)
 *   → {"decision":"allow"|"deny","rule":"<display name>","ruleIndex":N}   (null for default / builtin:loopback)
 *   A malformed query prints {"error":"E_QUERY","line":N} and continues.
 * Used by test/native/differential.test.ts (C matcher vs the TS reference matcher).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egp.h"
#include "json.h"

static int parse_port(const char *s, int *port) {
  if (strcmp(s, "-") == 0) return *port = EGP_PORT_UNKNOWN, 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || v < 0 || v > 65535) return -1;
  *port = (int)v;
  return 0;
}

static int parse_proto(const char *s, int *proto) {
  if (strcmp(s, "-") == 0) *proto = EGP_PROTO_UNKNOWN;
  else if (strcmp(s, "tcp") == 0) *proto = EGP_PROTO_TCP;
  else if (strcmp(s, "udp") == 0) *proto = EGP_PROTO_UDP;
  else return -1;
  return 0;
}

static int parse_ip(const char *s, egp_ip *ip) {
  struct in_addr a4;
  uint8_t a6[16];
  memset(ip, 0, sizeof *ip);
  if (inet_pton(AF_INET, s, &a4) == 1) {
    ip->v4 = ntohl(a4.s_addr);
    return 0;
  }
  if (inet_pton(AF_INET6, s, a6) != 1) return -1;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(a6, mapped, 12) == 0) {
    ip->v4 = ((uint32_t)a6[12] << 24) | ((uint32_t)a6[13] << 16) | ((uint32_t)a6[14] << 8) | a6[15];
  } else {
    ip->is_v6 = 1;
    memcpy(ip->v6, a6, 16);
  }
  return 0;
}

static void print_decision(const egp_t *p, const egp_decision *d) {
  char buf[1024];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  jb_str(&j, "decision", d->allow ? "allow" : "deny", d->allow ? 5 : 4);
  uint32_t len = 0;
  const char *name = egp_rule_name(p, d->rule, &len);
  if (name == NULL) {
    name = d->rule == EGP_RULE_LOOPBACK ? "builtin:loopback" : "default";
    len = (uint32_t)strlen(name);
  }
  jb_str(&j, "rule", name, len);
  size_t n;
  if (d->rule >= 0) {
    jb_i64(&j, "ruleIndex", d->rule);
    n = jb_finish(&j);
  } else { /* null, as the TS reference matcher reports default / builtin:loopback */
    static const char tail[] = ",\"ruleIndex\":null}\n";
    memcpy(buf + j.n, tail, sizeof tail - 1);
    n = j.n + sizeof tail - 1;
  }
  fwrite(buf, 1, n, stdout);
}

int main(int argc, char **argv) {
  int validate = argc == 3 && strcmp(argv[1], "--validate") == 0;
  if (argc != 2 && !validate) {
    fprintf(stderr, "usage: egpq [--validate] FILE  (queries on stdin, see the header of tools/egpq.c)\n");
    return 2;
  }
  egp_t p;
  struct egp_error err;
  const char *verify = getenv("EGRESS_GUARD_VERIFY");
  if (egp_open(&p, argv[argc - 1], verify && strcmp(verify, "full") == 0, &err) != 0) {
    /* err.what may quote bytes from the file (a bad magic): escape it with the log writer's JSON encoder. */
    char buf[1024];
    struct jbuf j;
    jb_init(&j, buf, sizeof buf);
    jb_bool(&j, "ok", 0);
    const char *code = egp_err_code(err.code);
    jb_str(&j, "error", code, strlen(code));
    jb_str(&j, "what", err.what, strlen(err.what));
    jb_u64(&j, "expected", err.expected);
    jb_u64(&j, "got", err.got);
    fwrite(buf, 1, jb_finish(&j), stdout);
    return 1;
  }
  if (validate) {
    printf("{\"ok\":true,\"rules\":%u,\"flags\":%u}\n", p.n_rules, p.flags);
    return 0;
  }
  char line[2048];
  unsigned long lineno = 0;
  while (fgets(line, sizeof line, stdin)) {
    lineno++;
    char *tok[6];
    int nt = 0;
    for (char *s = strtok(line, " \t\r\n"); s && nt < 6; s = strtok(NULL, " \t\r\n")) tok[nt++] = s;
    if (nt == 0) continue;
    egp_decision d;
    int port, proto;
    if (strcmp(tok[0], "name") == 0 && nt == 4 && parse_port(tok[2], &port) == 0 && parse_proto(tok[3], &proto) == 0) {
      char norm[256];
      int n = egp_normalize_name(tok[1], strlen(tok[1]), norm);
      if (n < 0) {
        d.allow = 0;
        d.rule = EGP_RULE_DEFAULT;
      } else {
        egp_decide_name(&p, norm, (size_t)n, port, proto, &d);
      }
      print_decision(&p, &d);
      continue;
    }
    egp_ip ip;
    if (strcmp(tok[0], "addr") == 0 && (nt == 4 || nt == 5) && parse_ip(tok[1], &ip) == 0 &&
        parse_port(tok[2], &port) == 0 && parse_proto(tok[3], &proto) == 0) {
      char norm[256];
      int n = nt == 5 ? egp_normalize_name(tok[4], strlen(tok[4]), norm) : -1;
      egp_decide_addr(&p, &ip, port, proto, n > 0 ? norm : NULL, n > 0 ? (size_t)n : 0, &d);
      print_decision(&p, &d);
      continue;
    }
    printf("{\"error\":\"E_QUERY\",\"line\":%lu}\n", lineno);
  }
  fflush(stdout);
  return 0;
}
