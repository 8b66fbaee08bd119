/*
 * main.c — egress-guard-proxy: a local HTTP CONNECT / forward proxy that decides every destination with the
 * compiled egress policy (docs/PROXY.md). For programs the interposer cannot see into (static Go binaries, raw
 * system calls) that honour HTTPS_PROXY / HTTP_PROXY: it is cooperative, code that dials directly is not seen.
 *
 * Usage: egress-guard-proxy [--extension NAME]
 *   --extension NAME  run as a Lambda external extension named NAME (the file name under /opt/extensions): register
 *                     with the Extensions API once the listener is bound, follow INVOKE/SHUTDOWN events.
 *
 * Environment (the interposer's variables, read by the same code: src/config.h, the rule of contracts/config.yaml):
 *   EGRESS_GUARD_POLICY, EGRESS_GUARD_MODE (audit | enforce | off; anything else: enforce, failing closed),
 *   EGRESS_GUARD_LOG (stderr | off | file), EGRESS_GUARD_LOG_LEVEL, EGRESS_GUARD_LOG_RATE(_WINDOW_S), EGRESS_GUARD_STATE,
 *   EGRESS_GUARD_VERIFY,
 *   AWS_LAMBDA_RUNTIME_API and AWS_XRAY_DAEMON_ADDRESS (always allowed, as IP literals on loopback or link-local);
 *   EGRESS_GUARD_PROXY_LISTEN  address to listen on, an IP literal on loopback with a port (default 127.0.0.1:9128).
 *
 * Startup contract:
 * - It refuses to start (exit 2, one `policy` line E_CONFIG_PROXY_LISTEN) when asked to listen anywhere but loopback:
 *   it must never become an open relay for other hosts.
 * - It only connects where the policy allows (conn.c); an unusable policy fails closed in enforce mode (every
 *   destination but loopback and the builtins is refused) and open in audit mode, logged once, like the interposer.
 * - The listener is bound before the extension registers, so the function's first request always finds it.
 * - When libegressguard.so is loaded into the proxy itself (LD_PRELOAD set as a function variable reaches extensions
 *   too), the interposer already counts the proxy's upstream bytes into the same state file and cuts its sockets on
 *   a trip: the proxy then leaves byte counting to it, so nothing is counted twice.
 * Exit status: 0 on SHUTDOWN, 1 when the Extensions API fails, 2 on a configuration error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

struct px_config px;

#define DEFAULT_LISTEN "127.0.0.1:9128"

static int find_interposer(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libegressguard") != NULL) *(int *)data = 1;
  return 0;
}

static void open_log(const struct eg_settings *cfg) {
  px.log_fd = -1;
  if (cfg->log_dest == EG_CFG_LOG_STDERR) {
    px.log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3); /* our own duplicate: nothing in this process closes it */
  } else if (cfg->log_dest == EG_CFG_PATH) {
    px.log_fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (px.log_fd < 0) {
      px.log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
      px_log_policy_error("E_LOG_OPEN", cfg->log_path, "cannot open EGRESS_GUARD_LOG file; logging to stderr", 0);
    }
  }
}

/* X-Ray: "host:port" or "tcp:host:port udp:host:port"; the proxy carries TCP only. */
static void parse_xray(const char *v) {
  if (v == NULL) return;
  const char *t = strstr(v, "tcp:");
  char tmp[96];
  if (t != NULL) {
    size_t n = strcspn(t + 4, " ");
    if (n >= sizeof tmp) return;
    memcpy(tmp, t + 4, n);
    tmp[n] = '\0';
    v = tmp;
  } else if (strstr(v, "udp:") != NULL) {
    return;
  }
  px_parse_builtin(v, &px.xray);
}

static const char *env(const char *name) { return getenv(name); }

static void configure(void) {
  struct eg_settings cfg;
  eg_settings_read(&cfg, env);   /* the configuration rule, shared with the interposer: src/config.h */
  if (cfg.mode == PX_MODE_OFF) { /* off: a plain relay, no decision, no line, no file */
    px.mode = PX_MODE_OFF;
    px.level = PX_LEVEL_OFF;
    px.log_fd = -1;
    return;
  }
  px.mode = cfg.mode >= 0 ? cfg.mode : PX_MODE_ENFORCE;
  px.level = PX_LEVEL_ALL; /* provisional: errors during start are logged */
  open_log(&cfg);
  if (cfg.policy_path != NULL && strlen(cfg.policy_path) < sizeof px.policy_path)
    strcpy(px.policy_path, cfg.policy_path);
  struct egp_error err;
  px.policy_ok = egp_open(&px.policy, px.policy_path, cfg.verify_full, &err) == 0;
  if (px.policy_ok && cfg.mode < 0) px.mode = (px.policy.flags & EGP_FLAG_ENFORCE) ? PX_MODE_ENFORCE : PX_MODE_AUDIT;
  if (cfg.mode_invalid) {
    px.policy_ok = 0;
    px_log_policy_error(EG_CFG_MODE_ERROR, NULL, EG_CFG_MODE_INVALID_MSG, 1);
  } else if (!px.policy_ok) {
    px_log_policy_error(egp_err_code(err.code), px.policy_path[0] ? px.policy_path : NULL, err.what,
                        px.mode == PX_MODE_ENFORCE);
  }
  px.level = eg_settings_level(&cfg, px.mode == PX_MODE_ENFORCE);
  if (cfg.log_level_invalid) px_log_policy_error(EG_CFG_LOG_LEVEL_ERROR, NULL, EG_CFG_LOG_LEVEL_INVALID_MSG, 0);
  if (cfg.verify_invalid) px_log_policy_error(EG_CFG_VERIFY_ERROR, NULL, EG_CFG_VERIFY_INVALID_MSG, 0);
  long rate = EG_CFG_LOG_RATE_DEFAULT, window = EG_CFG_LOG_RATE_WINDOW_S_DEFAULT;
  if (eg_cfg_int(getenv(EG_CFG_LOG_RATE_NAME), EG_CFG_LOG_RATE_MIN, EG_CFG_LOG_RATE_MAX, &rate) == EG_CFG_INVALID)
    px_log_policy_error(EG_CFG_LOG_RATE_ERROR, NULL, EG_CFG_LOG_RATE_INVALID_MSG, 0);
  if (eg_cfg_int(getenv(EG_CFG_LOG_RATE_WINDOW_S_NAME), EG_CFG_LOG_RATE_WINDOW_S_MIN, EG_CFG_LOG_RATE_WINDOW_S_MAX,
                 &window) == EG_CFG_INVALID)
    px_log_policy_error(EG_CFG_LOG_RATE_WINDOW_S_ERROR, NULL, EG_CFG_LOG_RATE_WINDOW_S_INVALID_MSG, 0);
  px_log_rate_init((unsigned)rate, (unsigned)window);
  px_parse_builtin(getenv("AWS_LAMBDA_RUNTIME_API"), &px.runtime_api);
  parse_xray(getenv("AWS_XRAY_DAEMON_ADDRESS"));
  int interposer = 0;
  dl_iterate_phdr(find_interposer, &interposer);
  px.count_bytes = !interposer;
  px_meter_open(cfg.state_path);
}

/* Bind the loopback listener; exits 2 on a non-loopback or malformed address. */
static int listen_loopback(void) {
  const char *addr = getenv("EGRESS_GUARD_PROXY_LISTEN");
  if (addr == NULL || addr[0] == '\0') addr = DEFAULT_LISTEN;
  struct px_endpoint ep;
  if (px_parse_builtin(addr, &ep) != 0 || !px_is_loopback(&ep.ip) || ep.port == 0) {
    if (px.log_fd < 0) px.log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    const char *kv[] = {"error", "E_CONFIG_PROXY_LISTEN", "path", addr, NULL};
    px_log_event(50, "policy",
                 "EGRESS_GUARD_PROXY_LISTEN must be a loopback IP literal with a port (e.g. 127.0.0.1:9128): the "
                 "egress proxy does not start",
                 kv);
    exit(2);
  }
  if (strlen(addr) < sizeof px.listen_text) strcpy(px.listen_text, addr);
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  if (!ep.ip.is_v6) {
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)ep.port);
    in->sin_addr.s_addr = htonl(ep.ip.v4);
    len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)ep.port);
    memcpy(in6->sin6_addr.s6_addr, ep.ip.v6, 16);
    len = sizeof *in6;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
    const char *kv[] = {"listen", addr, "detail", strerror(errno), NULL};
    if (px.log_fd < 0) px.log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    px_log_event(50, "proxy", "egress proxy cannot listen; it does not start", kv);
    exit(2);
  }
  return fd;
}

int main(int argc, char **argv) {
  const char *ext_name = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--extension") == 0 && i + 1 < argc) {
      ext_name = argv[++i];
    } else {
      static const char usage[] = "usage: egress-guard-proxy [--extension NAME]   (docs/PROXY.md)\n";
      (void)!write(2, usage, sizeof usage - 1);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  /* the name decided must be the name queried: no alias file, no search domain, no resolver options from the env */
  unsetenv("HOSTALIASES");
  unsetenv("RES_OPTIONS");
  setenv("LOCALDOMAIN", "", 1); /* set and empty: an empty search list, whatever resolv.conf says */
  configure();
  int lfd = listen_loopback();
  if (ext_name != NULL && px_extension_start(ext_name) != 0) {
    if (px.log_fd < 0) px.log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    px_log_event(50, "proxy", "egress proxy cannot register with the Lambda Extensions API (AWS_LAMBDA_RUNTIME_API)",
                 NULL);
    return 1;
  }
  if (px.mode != PX_MODE_OFF) px_coverage_report();

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        if (errno != EINTR && errno != ECONNABORTED) usleep(10000); /* out of descriptors: back off, never spin */
        continue;
      }
      return 1;
    }
    pthread_t t;
    if (pthread_create(&t, &attr, px_conn_main, (void *)(intptr_t)c) != 0) close(c);
  }
}
