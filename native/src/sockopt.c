/*
 * sockopt.c — socket options and ancillary data that would make packets for a decided address go somewhere else:
 * setsockopt(2) (and syscall(SYS_setsockopt)), and the control messages of sendmsg/sendmmsg (send.c). The full list of
 * options considered, with the verdict for each and why, is in docs/INTERPOSER.md "Socket options".
 *
 * Refused (rule `socket-redirect`, event `sockopt`, `option` naming it; -1/EACCES in enforce mode, logged as would-block
 * and let through in audit; mode off and re-entry pass):
 *  - IPv4 options with a source route (IPOPT_LSRR 0x83, IPOPT_SSRR 0x89) — setsockopt(IP_OPTIONS) and the IP_RETOPTS
 *    control message: the packet's destination becomes the route's first hop. The options are walked exactly as the
 *    kernel's ip_options_compile walks them (EOL ends, NOP is one byte, others carry a length of 2 to what is left);
 *    options without a source route pass (record route, timestamps).
 *  - IPv6 routing headers — setsockopt(IPV6_RTHDR, IPV6_2292RTHDR) with a value, the IPV6_RTHDR/IPV6_2292RTHDR control
 *    messages, routing headers inside setsockopt(IPV6_2292PKTOPTIONS): type 4 (segment routing) and type 2 (mobile
 *    IPv6) make the first segment the destination. Clearing one (no value) passes.
 *  - IPV6_NEXTHOP (option and control message): a next hop other than the destination (Linux answers ENOPROTOOPT /
 *    EINVAL today; refused so that no kernel ever honours it under the guard).
 *  - IPV6_FLOWLABEL_MGR with options attached after the request (they are applied to every packet sent with the
 *    label, routing headers included).
 *  - IP_IPSEC_POLICY, IP_XFRM_POLICY, IPV6_IPSEC_POLICY, IPV6_XFRM_POLICY: a per-socket IPsec policy can tunnel the
 *    packets to another endpoint (the kernel requires CAP_NET_ADMIN).
 *  - a control buffer over EG_CMSG_MAX bytes on a send (no real client sends one; it cannot be copied to be read).
 * The values read are private copies, and the kernel gets those copies: setsockopt(IP_OPTIONS) (at most 40 bytes, the
 * kernel's limit), IPV6_2292PKTOPTIONS (at most EG_CMSG_MAX), and a send's control buffer (send.c keeps it in its msghdr
 * copy), so another thread cannot turn a record route into a source route after the decision.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "hook.h"
#include "sockopt.h"

#define IPOPT_END_ 0
#define IPOPT_NOOP_ 1
#define IPOPT_LSRR_ 0x83
#define IPOPT_SSRR_ 0x89
#define IPV6_FLOWLABEL_MGR_ 32 /* linux/in6.h */
#define FLOWLABEL_REQ_SIZE 32  /* sizeof(struct in6_flowlabel_req) */
#define IP_OPTIONS_MAX 40

/* 1 when IPv4 options p[0..len) hold a source route (walked as ip_options_compile walks them). */
static int ip_source_route(const uint8_t *p, size_t len) {
  while (len > 0) {
    if (p[0] == IPOPT_END_) return 0;
    if (p[0] == IPOPT_NOOP_) {
      p++, len--;
      continue;
    }
    if (len < 2 || p[1] < 2 || p[1] > len) return 0; /* the kernel refuses the whole set (EINVAL) */
    if (p[0] == IPOPT_LSRR_ || p[0] == IPOPT_SSRR_) return 1;
    len -= p[1], p += p[1];
  }
  return 0;
}

/* Logs and counts the refusal of `option`; 1 = the call may proceed (audit), 0 = refused (enforce). */
static int refuse(const char *option, const char *call) { return eg_check_option(option, call); }

/* The first control message of c (kernel's __CMSG_FIRSTHDR / cmsg_nxthdr / CMSG_OK), NULL at the end or when the
 * buffer is malformed — the kernel then refuses the whole send (EINVAL), so nothing further matters. */
static const struct cmsghdr *cmsg_at(const uint8_t *ctl, size_t len, size_t off) {
  if (off + sizeof(struct cmsghdr) > len) return NULL;
  const struct cmsghdr *c = (const struct cmsghdr *)(const void *)(ctl + off);
  if (c->cmsg_len < sizeof(struct cmsghdr) || c->cmsg_len > len - off) return NULL;
  return c;
}

/* The redirecting control message in ctl[0..len), as the name to log; NULL when there is none. */
static const char *cmsg_redirect(const uint8_t *ctl, size_t len) {
  for (size_t off = 0;;) {
    const struct cmsghdr *c = cmsg_at(ctl, len, off);
    if (c == NULL) return NULL;
    size_t data = c->cmsg_len - sizeof(struct cmsghdr);
    if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RETOPTS &&
        ip_source_route(CMSG_DATA(c), data < IP_OPTIONS_MAX ? data : IP_OPTIONS_MAX))
      return "IP_RETOPTS";
    if (c->cmsg_level == SOL_IPV6 &&
        (c->cmsg_type == IPV6_RTHDR || c->cmsg_type == IPV6_2292RTHDR || c->cmsg_type == IPV6_NEXTHOP))
      return c->cmsg_type == IPV6_NEXTHOP ? "IPV6_NEXTHOP"
             : c->cmsg_type == IPV6_RTHDR ? "IPV6_RTHDR"
                                          : "IPV6_2292RTHDR";
    off += CMSG_ALIGN(c->cmsg_len);
  }
}

int eg_cmsg_check(const void *ctl, size_t len, const char *call) {
  if (len > EG_CMSG_MAX) return refuse("msg_control over 1024 bytes", call);
  const char *what = cmsg_redirect(ctl, len);
  return what == NULL || refuse(what, call);
}

/* The option that setsockopt(level, name, val[0..len)) would set to redirect, or NULL. val is the private copy for
 * the options read by content. */
static const char *option_redirect(int level, int name, const void *val, socklen_t len) {
  if (level == IPPROTO_IP) {
    switch (name) {
    case IP_OPTIONS: return val != NULL && len <= IP_OPTIONS_MAX && ip_source_route(val, len) ? "IP_OPTIONS" : NULL;
    case IP_IPSEC_POLICY: return "IP_IPSEC_POLICY";
    case IP_XFRM_POLICY: return "IP_XFRM_POLICY";
    default: return NULL;
    }
  }
  if (level == IPPROTO_IPV6) {
    switch (name) {
    case IPV6_RTHDR: return val != NULL && len > 0 ? "IPV6_RTHDR" : NULL;
    case IPV6_2292RTHDR: return val != NULL && len > 0 ? "IPV6_2292RTHDR" : NULL;
    case IPV6_2292PKTOPTIONS:
      if (val == NULL || len == 0) return NULL;
      return len > EG_CMSG_MAX ? "IPV6_2292PKTOPTIONS" : cmsg_redirect(val, len);
    case IPV6_NEXTHOP: return "IPV6_NEXTHOP";
    case IPV6_FLOWLABEL_MGR_: return len > FLOWLABEL_REQ_SIZE ? "IPV6_FLOWLABEL_MGR" : NULL;
    case IPV6_IPSEC_POLICY: return "IPV6_IPSEC_POLICY";
    case IPV6_XFRM_POLICY: return "IPV6_XFRM_POLICY";
    default: return NULL;
    }
  }
  return NULL;
}

/* 1 when the option's value must be copied to be read (and the copy handed to the kernel). */
static int read_by_content(int level, int name, socklen_t len) {
  return (level == IPPROTO_IP && name == IP_OPTIONS && len <= IP_OPTIONS_MAX) ||
         (level == IPPROTO_IPV6 && name == IPV6_2292PKTOPTIONS && len <= EG_CMSG_MAX);
}

static int real_setsockopt(const struct eg_via *v, int fd, int level, int name, const void *val, socklen_t len) {
  if (v->sys) return (int)eg_raw_syscall(v->nr, fd, level, name, (long)val, (long)len, 0);
  eg_setsockopt_fn real = EG_REAL(setsockopt);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(fd, level, name, val, len);
}

int eg_setsockopt(const struct eg_via *v, int fd, int level, int name, const void *val, socklen_t len) {
  if (EG_LIKELY(level != IPPROTO_IP && level != IPPROTO_IPV6) || eg_passthrough())
    return real_setsockopt(v, fd, level, name, val, len);
  uint8_t copy[EG_CMSG_MAX];
  if (val != NULL && len > 0 && read_by_content(level, name, len)) {
    memcpy(copy, val, len);
    val = copy;
  }
  const char *what = option_redirect(level, name, val, len);
  if (what != NULL) {
    int saved = errno;
    eg_enter();
    if (!eg_verdict(refuse(what, v->call), saved)) return -1;
  }
  return real_setsockopt(v, fd, level, name, val, len);
}

static const struct eg_via via_setsockopt = {0, 0, "setsockopt", NULL};

EG_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  return eg_setsockopt(&via_setsockopt, fd, level, name, val, len);
}
