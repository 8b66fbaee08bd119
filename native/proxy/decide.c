/*
 * decide.c — the proxy's decision for one destination, in the interposer's order (docs/INTERPOSER.md "Decisions"):
 *  1. the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) and the X-Ray daemon (AWS_XRAY_DAEMON_ADDRESS) always pass —
 *     only as IP literals on loopback or link-local addresses, where Lambda puts them (a name or any other address in
 *     those variables is ignored: it could otherwise open a hole to anywhere);
 *  2. no valid policy: loopback passes (builtin:loopback), everything else is denied with rule `policy-error`;
 *  3. the compiled policy decides: decide_name for a requested name before it is resolved, decide_addr with the name
 *     bound for each address it resolved to (a deny rule on the address wins over the allowed name), decide_addr
 *     alone for an IP literal;
 *  4. enforce mode, an allow that is not a builtin or loopback, and BUDGET_TRIPPED in the state file → deny `budget`.
 * The caller blocks a deny in enforce mode and lets it through, logged as would-block, in audit mode.
 */
#include <string.h>

#include "proxy.h"

const char *px_rule_display(int32_t rule, uint32_t *len) {
  const char *s;
  switch (rule) {
  case EGP_RULE_DEFAULT: s = "default"; break;
  case EGP_RULE_LOOPBACK: s = "builtin:loopback"; break;
  case PX_RULE_RUNTIME_API: s = "builtin:runtime-api"; break;
  case PX_RULE_XRAY: s = "builtin:xray"; break;
  case PX_RULE_BUDGET: s = "budget"; break;
  case PX_RULE_POLICY_ERROR: s = "policy-error"; break;
  default:
    if (px.policy_ok) {
      s = egp_rule_name(&px.policy, rule, len);
      if (s) return s;
    }
    s = "unknown";
  }
  *len = (uint32_t)strlen(s);
  return s;
}

int px_is_loopback(const egp_ip *ip) {
  static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return ip->is_v6 ? memcmp(ip->v6, one, 16) == 0 : (ip->v4 >> 24) == 127;
}

static int is_link_local(const egp_ip *ip) {
  return ip->is_v6 ? ip->v6[0] == 0xfe && (ip->v6[1] & 0xc0) == 0x80 : (ip->v4 >> 16) == 0xa9fe; /* 169.254/16 */
}

int px_parse_builtin(const char *s, struct px_endpoint *ep) {
  memset(ep, 0, sizeof *ep);
  if (s == NULL) return -1;
  size_t len = strlen(s);
  const char *host = s, *colon;
  size_t hlen;
  if (len == 0 || len > 64) return -1;
  if (s[0] == '[') {
    const char *rb = memchr(s, ']', len);
    if (rb == NULL || rb[1] != ':') return -1;
    host = s + 1, hlen = (size_t)(rb - host), colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) return -1;
    hlen = (size_t)(colon - s);
  }
  long port = 0;
  const char *p = colon + 1;
  if (*p == '\0') return -1;
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || (port = port * 10 + (*p - '0')) > 65535) return -1;
  }
  if (!px_parse_ip(host, hlen, &ep->ip)) return -1;
  if (!px_is_loopback(&ep->ip) && !is_link_local(&ep->ip)) return -1;
  ep->port = (int)port;
  ep->set = 1;
  return 0;
}

static int endpoint_match(const struct px_endpoint *ep, const egp_ip *ip, int port) {
  if (!ep->set || ip == NULL || port != ep->port || ip->is_v6 != ep->ip.is_v6) return 0;
  return ip->is_v6 ? memcmp(ip->v6, ep->ip.v6, 16) == 0 : ip->v4 == ep->ip.v4;
}

void px_decide(const char *host, size_t host_len, const egp_ip *ip, int port, egp_decision *d) {
  int builtin = 0;
  if (endpoint_match(&px.runtime_api, ip, port)) {
    d->allow = 1, d->rule = PX_RULE_RUNTIME_API, builtin = 1;
  } else if (endpoint_match(&px.xray, ip, port)) {
    d->allow = 1, d->rule = PX_RULE_XRAY, builtin = 1;
  } else if (!px.policy_ok) {
    if (ip != NULL && px_is_loopback(ip)) d->allow = 1, d->rule = EGP_RULE_LOOPBACK, builtin = 1;
    else d->allow = 0, d->rule = PX_RULE_POLICY_ERROR;
  } else if (ip == NULL) {
    egp_decide_name(&px.policy, host, host_len, port, EGP_PROTO_TCP, d);
  } else {
    egp_decide_addr(&px.policy, ip, port, EGP_PROTO_TCP, host, host ? host_len : 0, d);
  }
  if (d->allow && !builtin && d->rule != EGP_RULE_LOOPBACK && px.mode == PX_MODE_ENFORCE && px_meter_budget_tripped() &&
      !(ip != NULL && px_is_loopback(ip))) {
    d->allow = 0;
    d->rule = PX_RULE_BUDGET;
  }
}
