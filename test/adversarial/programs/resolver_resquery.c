/*
 * resolver_resquery.c — a dynamically linked C program that queries DNS through the resolver's own functions, the
 * way an MTA or a DNS tool does (test/adversarial/resolver-res.test.ts): res_query, res_search, res_querydomain and
 * res_send of each name given, linked normally (-lresolv). Prints one JSON object: function → return value.
 *   resolver_resquery NAME...
 */
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>

int main(int argc, char **argv) {
  unsigned char ans[4096], msg[512];
  printf("{");
  for (int i = 1; i < argc; i++) {
    const char *n = argv[i];
    int q = res_query(n, ns_c_in, ns_t_txt, ans, sizeof ans);
    int s = res_search(n, ns_c_in, ns_t_txt, ans, sizeof ans);
    int d = res_querydomain("x", n, ns_c_in, ns_t_a, ans, sizeof ans);
    int m = res_mkquery(ns_o_query, n, ns_c_in, ns_t_a, NULL, 0, NULL, msg, sizeof msg);
    int sent = m > 0 ? res_send(msg, m, ans, sizeof ans) : -2;
    printf("%s\"%s\":[%d,%d,%d,%d]", i > 1 ? "," : "", n, q, s, d, sent);
  }
  printf("}\n");
  return 0;
}
