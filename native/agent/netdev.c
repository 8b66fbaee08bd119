/*
 * netdev.c — /proc/net/dev parsing, interface selection and deltas (contract in netdev.h).
 */
#define _GNU_SOURCE
#include "netdev.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parses an unsigned decimal at *p (after blanks); advances *p. Returns 0 ok, -1 not a number or overflow. */
static int field_u64(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  while (s < end && is_blank(*s)) s++;
  if (s == end || *s < '0' || *s > '9') return -1;
  uint64_t v = 0;
  while (s < end && *s >= '0' && *s <= '9') {
    uint64_t d = (uint64_t)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
    s++;
  }
  if (s < end && !is_blank(*s)) return -1;
  *p = s;
  *out = v;
  return 0;
}

/* One "name: counters" line into *ifc. Returns 0, or -1 when malformed. */
static int parse_iface(const char *s, const char *end, struct nd_iface *ifc) {
  const char *colon = memchr(s, ':', (size_t)(end - s));
  if (colon == NULL) return -1;
  const char *ns = s;
  while (ns < colon && is_blank(*ns)) ns++;
  const char *ne = colon;
  while (ne > ns && is_blank(ne[-1])) ne--;
  size_t nlen = (size_t)(ne - ns);
  if (nlen == 0 || nlen >= ND_NAME_MAX) return -1;
  for (const char *c = ns; c < ne; c++)
    if (is_blank(*c)) return -1;
  uint64_t f[16];
  const char *p = colon + 1;
  for (int i = 0; i < 16; i++) {
    if (i == 0 || i == 1 || i == 8 || i == 9) {
      if (field_u64(&p, end, &f[i]) != 0) return -1;
    } else {
      /* not used: any non-blank token */
      while (p < end && is_blank(*p)) p++;
      if (p == end) return -1;
      while (p < end && !is_blank(*p)) p++;
    }
  }
  memcpy(ifc->name, ns, nlen);
  ifc->name[nlen] = '\0';
  ifc->rx_bytes = f[0];
  ifc->rx_packets = f[1];
  ifc->tx_bytes = f[8];
  ifc->tx_packets = f[9];
  return 0;
}

int nd_parse(const char *text, size_t len, struct nd_snap *snap) {
  snap->n = 0;
  snap->n_malformed = 0;
  int headers = 0, lineno = 0;
  const char *s = text, *end = text + len;
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *le = nl ? nl : end;
    lineno++;
    const char *t = s;
    while (t < le && is_blank(*t)) t++;
    if (t < le) {
      int bad = 0;
      if (memchr(s, ':', (size_t)(le - s)) == NULL) {
        if (memchr(s, '|', (size_t)(le - s)) != NULL) headers++;
        else bad = 1;
      } else if (snap->n < ND_MAX_IFACES && parse_iface(s, le, &snap->ifs[snap->n]) == 0) {
        snap->n++;
      } else {
        bad = 1;
      }
      if (bad) {
        if (snap->n_malformed < ND_MAX_MALFORMED) snap->malformed[snap->n_malformed] = lineno;
        snap->n_malformed++;
      }
    }
    s = nl ? nl + 1 : end;
  }
  return headers > 0 ? 0 : -1;
}

int nd_glob(const char *pat, const char *name) {
  /* iterative glob with one backtrack point (the last star) */
  const char *star = NULL, *resume = NULL;
  while (*name) {
    if (*pat == '*') {
      star = pat++;
      resume = name;
    } else if (*pat == *name) {
      pat++;
      name++;
    } else if (star) {
      pat = star + 1;
      name = ++resume;
    } else {
      return 0;
    }
  }
  while (*pat == '*') pat++;
  return *pat == '\0';
}

static int split(const char *list, char out[][ND_NAME_MAX], int *n) {
  *n = 0;
  if (list == NULL) return 0;
  const char *s = list;
  while (*s) {
    const char *e = strchr(s, ',');
    if (e == NULL) e = s + strlen(s);
    const char *a = s, *b = e;
    while (a < b && is_blank(*a)) a++;
    while (b > a && is_blank(b[-1])) b--;
    if (b > a) {
      if (*n >= ND_MAX_PATTERNS || (size_t)(b - a) >= ND_NAME_MAX) return -1;
      memcpy(out[*n], a, (size_t)(b - a));
      out[*n][b - a] = '\0';
      (*n)++;
    }
    s = *e ? e + 1 : e;
  }
  return 0;
}

int nd_filter_init(struct nd_filter *f, const char *include, const char *exclude) {
  memset(f, 0, sizeof *f);
  int rc = split(include, f->include, &f->n_include);
  if (rc == 0 && exclude != NULL && exclude[0] != '\0') rc = split(exclude, f->exclude, &f->n_exclude);
  if (rc != 0 || exclude == NULL || exclude[0] == '\0') {
    if (rc != 0) f->n_include = 0;
    f->n_exclude = 1;
    memcpy(f->exclude[0], "lo", 3);
  }
  return rc;
}

int nd_counts(const struct nd_filter *f, const char *name) {
  for (int i = 0; i < f->n_exclude; i++)
    if (nd_glob(f->exclude[i], name)) return 0;
  if (f->n_include == 0) return 1;
  for (int i = 0; i < f->n_include; i++)
    if (nd_glob(f->include[i], name)) return 1;
  return 0;
}

static const struct nd_iface *find(const struct nd_snap *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->ifs[i].name, name) == 0) return &s->ifs[i];
  return NULL;
}

void nd_delta(const struct nd_snap *prev, const struct nd_snap *cur, const struct nd_filter *f, struct nd_delta *d) {
  d->rx = d->tx = 0;
  d->n_reset = d->n_appeared = d->n_vanished = 0;
  for (int i = 0; i < cur->n; i++) {
    const struct nd_iface *c = &cur->ifs[i];
    if (!nd_counts(f, c->name)) continue;
    const struct nd_iface *p = find(prev, c->name);
    if (p == NULL) {
      d->appeared[d->n_appeared++] = i;
      d->rx += c->rx_bytes;
      d->tx += c->tx_bytes;
    } else if (c->rx_bytes < p->rx_bytes || c->tx_bytes < p->tx_bytes) {
      d->reset[d->n_reset++] = i;
      d->rx += c->rx_bytes < p->rx_bytes ? c->rx_bytes : c->rx_bytes - p->rx_bytes;
      d->tx += c->tx_bytes < p->tx_bytes ? c->tx_bytes : c->tx_bytes - p->tx_bytes;
    } else {
      d->rx += c->rx_bytes - p->rx_bytes;
      d->tx += c->tx_bytes - p->tx_bytes;
    }
  }
  for (int i = 0; i < prev->n; i++)
    if (nd_counts(f, prev->ifs[i].name) && find(cur, prev->ifs[i].name) == NULL) d->vanished[d->n_vanished++] = i;
}

void nd_total(const struct nd_snap *cur, const struct nd_filter *f, uint64_t *rx, uint64_t *tx) {
  *rx = *tx = 0;
  for (int i = 0; i < cur->n; i++) {
    if (!nd_counts(f, cur->ifs[i].name)) continue;
    *rx += cur->ifs[i].rx_bytes;
    *tx += cur->ifs[i].tx_bytes;
  }
}

int nd_read(int fd, char *buf, size_t cap, struct nd_snap *snap) {
  size_t n = 0;
  for (;;) {
    if (n == cap) return -2;
    ssize_t got = pread(fd, buf + n, cap - n, (off_t)n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;
    n += (size_t)got;
    if ((size_t)got <= ND_SHORT_READ && buf[n - 1] == '\n') break; /* the end: no second pread (see netdev.h) */
  }
  return nd_parse(buf, n, snap) == 0 ? 0 : -2;
}
