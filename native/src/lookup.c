/*
 * lookup.c — deciding the names a lookup queries (contract in resolver.h).
 */
#include <string.h>

#include "resolver.h"

int eg_decide_name(const char *raw, const char *call, int port, int proto, const char *errno_name,
                   struct eg_name *n) {
  n->readable = eg_dnsname_read(raw, n->text, &n->len) == EG_DNSNAME_OK;
  struct eg_query q = {"dns", call, n->text, n->len, NULL, port, proto};
  if (n->readable) return eg_check(&q, errno_name);
  size_t len = strlen(raw); /* logged as given (json.c escapes any byte), at most as long as a DNS name */
  n->len = len > 253 ? 253 : len;
  memcpy(n->text, raw, n->len);
  n->text[n->len] = '\0';
  q.host_len = n->len;
  return eg_check_denied(&q, EG_RULE_DNS_MALFORMED, errno_name);
}
