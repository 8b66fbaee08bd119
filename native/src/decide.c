/*
 * decide.c — the interposer's decision for one call: builtins, then the policy (FORMAT.md "Decisions"), then the
 * invoke budget; counts it in the state file, logs it, and says whether the call may proceed.
 *
 * Order (docs/INTERPOSER.md "Decisions"):
 *  1. the real Runtime API behind the agent (EGRESS_GUARD_UPSTREAM_API) never passes (rule `runtime-upstream`: only
 *     the agent talks to it); the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) and the X-Ray daemon
 *     (AWS_XRAY_DAEMON_ADDRESS) always pass (docs/LAMBDA.md "Runtime API and always-allowed endpoints");
 *  2. no valid policy: loopback passes (builtin:loopback: it is not egress), everything else is denied with rule
 *     `policy-error` — blocked in enforce (fail closed), allowed and logged in audit (fail open);
 *  3. the policy decides (decide_name for the name alone / decide_addr with the bound name);
 *  0. a raw DNS packet to port 53 whose question cannot be parsed (dns.c, no name): deny, rule `dns-malformed`;
 *  4. enforce + an allow that is not loopback/builtin + BUDGET_TRIPPED in the state file → deny, rule `budget`.
 * Enforce mode blocks a deny; audit lets it through (the log says "would block").
 */
#include <string.h>

#include "dest.h"
#include "guard.h"

const char *eg_rule_display(int32_t rule, uint32_t *len) {
  const char *s;
  switch (rule) {
  case EGP_RULE_DEFAULT: s = "default"; break;
  case EGP_RULE_LOOPBACK: s = "builtin:loopback"; break;
  case EG_RULE_RUNTIME_API: s = "builtin:runtime-api"; break;
  case EG_RULE_XRAY: s = "builtin:xray"; break;
  case EG_RULE_BUDGET: s = "budget"; break;
  case EG_RULE_POLICY_ERROR: s = "policy-error"; break;
  case EG_RULE_DNS_MALFORMED: s = "dns-malformed"; break;
  case EG_RULE_UNSUPPORTED_CALL: s = "unsupported-call"; break;
  case EG_RULE_SOCKET_REDIRECT: s = "socket-redirect"; break;
  case EG_RULE_RUNTIME_UPSTREAM: s = "runtime-upstream"; break;
  default:
    if (eg.policy_ok) {
      s = egp_rule_name(&eg.policy, rule, len);
      if (s) return s;
    }
    s = "unknown";
  }
  *len = (uint32_t)strlen(s);
  return s;
}

static int endpoint_match(const struct eg_endpoint *ep, const struct eg_query *q) {
  if (!ep->set || q->port != ep->port) return 0;
  if (q->proto != EGP_PROTO_UNKNOWN && !(ep->protos & (unsigned)q->proto)) return 0;
  if (ep->has_ip) {
    if (q->ip == NULL || q->ip->is_v6 != ep->ip.is_v6) return 0;
    return q->ip->is_v6 ? memcmp(q->ip->v6, ep->ip.v6, 16) == 0 : q->ip->v4 == ep->ip.v4;
  }
  return q->host != NULL && q->host_len == ep->host_len && memcmp(q->host, ep->host, ep->host_len) == 0;
}

/* A lookup of an endpoint's host name (decided for the name alone, like every lookup: see decide()). */
static int endpoint_name(const struct eg_endpoint *ep, const struct eg_query *q) {
  return ep->set && !ep->has_ip && q->ip == NULL && q->host != NULL && q->host_len == ep->host_len &&
         memcmp(q->host, ep->host, ep->host_len) == 0;
}

static int is_loopback_query(const struct eg_query *q) {
  if (q->ip) {
    if (!q->ip->is_v6) return (q->ip->v4 >> 24) == 127;
    static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(q->ip->v6, one, 16) == 0;
  }
  if (q->host == NULL) return 0;
  return (q->host_len == 9 && memcmp(q->host, "localhost", 9) == 0) ||
         (q->host_len > 10 && memcmp(q->host + q->host_len - 10, ".localhost", 10) == 0);
}

static int is_loopback_or_any(const egp_ip *ip) {
  if (!ip->is_v6) return (ip->v4 >> 24) == 127 || ip->v4 == 0;
  static const uint8_t zero[15];
  return memcmp(ip->v6, zero, 15) == 0 && (ip->v6[15] == 0 || ip->v6[15] == 1);
}

/*
 * The real Runtime API behind the agent (EGRESS_GUARD_UPSTREAM_API): only the agent, which runs unguarded, talks to
 * it. A guarded process reaching it directly could answer an invoke itself or take the next one past the agent —
 * escaping metering and the EgressBudgetExceeded conversion (docs/METERING.md). So it is refused, rule
 * `runtime-upstream`: its address at its port and, when that address is loopback (where Lambda puts it), every address
 * the kernel delivers to a loopback listener at that port (127.0.0.0/8, ::1, 0.0.0.0, ::; IPv4-mapped forms arrive
 * here as IPv4). Lookups are not concerned: a name carries no request to it.
 */
static int is_runtime_upstream(const struct eg_query *q) {
  const struct eg_endpoint *ep = &eg.runtime_upstream;
  if (!ep->set || q->ip == NULL || q->port != ep->port || q->proto == EGP_PROTO_UDP) return 0;
  if (endpoint_match(ep, q)) return 1;
  int local = ep->has_ip ? is_loopback_or_any(&ep->ip) : ep->host_len == 9 && memcmp(ep->host, "localhost", 9) == 0;
  return local && is_loopback_or_any(q->ip);
}

int eg_is_egress_dest(const struct sockaddr *sa, socklen_t len) {
  egp_ip ip;
  int port;
  if (!eg_sockaddr_ip(sa, len, &ip, &port)) return 0;
  char bound[256];
  size_t blen = eg_bound_name(&ip, bound);
  struct eg_query q = {"connect", "connect", blen ? bound : NULL, blen, &ip, port, EGP_PROTO_UNKNOWN};
  return !is_loopback_query(&q) && !endpoint_match(&eg.runtime_api, &q) && !endpoint_match(&eg.xray, &q);
}

/* Steps 1–4 (see the top of this file) without counting or logging. */
static void decide(const struct eg_query *q, egp_decision *d) {
  int builtin = 0;
  if (q->ip == NULL && q->host == NULL) { /* a raw DNS question that could not be parsed (dns.c): never allowed */
    d->allow = 0, d->rule = EG_RULE_DNS_MALFORMED;
    return;
  }
  if (is_runtime_upstream(q)) {
    d->allow = 0, d->rule = EG_RULE_RUNTIME_UPSTREAM;
    return;
  }
  if (endpoint_match(&eg.runtime_api, q) || endpoint_name(&eg.runtime_api, q)) {
    d->allow = 1, d->rule = EG_RULE_RUNTIME_API, builtin = 1;
  } else if (endpoint_match(&eg.xray, q) || endpoint_name(&eg.xray, q)) {
    d->allow = 1, d->rule = EG_RULE_XRAY, builtin = 1;
  } else if (!eg.policy_ok) {
    if (is_loopback_query(q)) d->allow = 1, d->rule = EGP_RULE_LOOPBACK, builtin = 1;
    else d->allow = 0, d->rule = EG_RULE_POLICY_ERROR;
  } else if (q->ip == NULL) {
    /* A lookup is decided for the name alone (POLICY.md "Decisions"): the port and protocol a program passes to
     * getaddrinfo are logged but not used, so a name allowed on 443 resolves for every client and the connect to
     * another port is what is refused (EACCES, naming port and rule) — one behaviour whether or not the client passes
     * a service (Node looks up without one, Python with one). */
    egp_decide_name(&eg.policy, q->host, q->host_len, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, d);
  } else {
    egp_decide_addr(&eg.policy, q->ip, q->port, q->proto, q->host, q->host_len, d);
  }
  if (d->allow && !builtin && d->rule != EGP_RULE_LOOPBACK && eg.mode == EG_MODE_ENFORCE && eg_state_budget_tripped() &&
      !is_loopback_query(q)) {
    d->allow = 0;
    d->rule = EG_RULE_BUDGET;
  }
}

/* Count and log a decision; 1 when the call may proceed. */
static int apply(const struct eg_query *q, const char *option, const egp_decision *d, const char *errno_name) {
  int blocked = !d->allow && eg.mode == EG_MODE_ENFORCE;
  eg_state_count(d->allow ? EG_COUNT_ALLOWED : EG_COUNT_DENIED);
  if (blocked) eg_state_count(EG_COUNT_BLOCKED);
  eg_log_decision_opt(q, option, d->allow, blocked, d->rule, errno_name);
  return !blocked;
}

int eg_check(const struct eg_query *q, const char *errno_name) {
  egp_decision d;
  decide(q, &d);
  return apply(q, NULL, &d, errno_name);
}

int eg_check_option(const char *option, const char *call) {
  struct eg_query q = {"sockopt", call, NULL, 0, NULL, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  egp_decision d = {.allow = 0, .rule = EG_RULE_SOCKET_REDIRECT};
  return apply(&q, option, &d, "EACCES");
}

int eg_check_refused(const char *event, const char *option, const char *call, int32_t rule) {
  struct eg_query q = {event, call, NULL, 0, NULL, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  egp_decision d = {.allow = 0, .rule = rule};
  return apply(&q, option, &d, "EACCES");
}

int eg_check_denied(const struct eg_query *q, int32_t rule, const char *errno_name) {
  egp_decision d = {.allow = 0, .rule = rule};
  return apply(q, NULL, &d, errno_name);
}

/*
 * Fast path for connect/send when allowed traffic is not logged (level below `allow`): if the destination is allowed
 * for TCP AND for UDP at this port, the call is allowed whatever the socket's type — and then also with the protocol
 * and port unknown (raw sockets): an unknown port or protocol only ever widens what allow rules match and narrows what
 * deny rules match (FORMAT.md "matches the use"). So the SO_TYPE query (a system call, the guard's largest cost on an
 * allowed connect) is skipped. Anything else takes the full path, which knows the protocol for the log line.
 */
static int allowed_for_any_proto(const struct eg_query *q) {
  if (eg.level >= EG_LEVEL_ALLOW) return 0;
  struct eg_query t = *q;
  egp_decision d;
  t.proto = EGP_PROTO_TCP;
  decide(&t, &d);
  if (!d.allow) return 0;
  t.proto = EGP_PROTO_UDP;
  decide(&t, &d);
  return d.allow;
}

int eg_check_dest(struct eg_sock *s, const struct eg_dest *d, const char *event, const char *call, int only_dgram) {
  if (d->kind != EG_DEST_INET) return 1; /* no address (the connected peer) or nothing sent to an INET address */
  int port = d->port;
  char bound[256];
  size_t blen = eg_bound_name(&d->ip, bound);
  if (s->type < 0) {
    struct eg_query fq = {event, call, blen ? bound : NULL, blen, &d->ip, port, EGP_PROTO_UNKNOWN};
    if (allowed_for_any_proto(&fq)) {
      eg_state_count(EG_COUNT_ALLOWED);
      if (eg.level != EG_LEVEL_OFF) eg_log_tick(); /* pending rate-limit summaries, due or not: one load */
      return 1;
    }
  }
  if (only_dgram && eg_sock_type(s) == SOCK_STREAM) return 1; /* a connected stream ignores the address */
  int proto = eg_sock_policy_proto(s);
  if (proto == EGP_PROTO_UNKNOWN) port = EGP_PORT_UNKNOWN; /* raw, ICMP "ping" …: the field is not a port */
  struct eg_query q = {event, call, blen ? bound : NULL, blen, &d->ip, port, proto};
  return eg_check(&q, "EACCES");
}
