/*
 * resolver.h — the interposer's lookup side: every name glibc's resolver may query is decided first, read the way the
 * resolver reads it (docs/INTERPOSER.md "Lookups"). Internal to libegressguard.so.
 */
#ifndef EG_RESOLVER_H
#define EG_RESOLVER_H

#include <stddef.h>

#include "dnsname.h"
#include "guard.h"

/* --- lookup.c: one name decided --- */
struct eg_name {
  char text[256]; /* the name as decided (dnsname.h), or the raw text (truncated to 253 bytes) when not readable */
  size_t len;
  int readable;   /* 1: text is the name glibc would query; 0: refused as `dns-malformed` */
};
/*
 * Decide one name a lookup would query: read `raw` as the resolver does (dnsname.h) and decide that name with the
 * policy (event `dns`, `call`; `port`/`proto` are what the program asked for, shown in the log line only: a lookup is
 * decided for the name alone). A name that cannot be read is denied with rule `dns-malformed`. Counts and logs.
 * Returns 1 when it may be queried (allowed, or audit mode), 0 when enforce mode blocks it. Fills *n either way.
 */
int eg_decide_name(const char *raw, const char *call, int port, int proto, const char *errno_name,
                   struct eg_name *n) EG_HIDDEN;

#endif
