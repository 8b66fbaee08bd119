/*
 * bootstrap.c — the runtime matrix's C function (test/runtimes/c.test.ts): a `provided.al2023` custom runtime as C and
 * C++ functions are commonly written, a Runtime API loop over libcurl (Debian's libcurl4-openssl-dev), guarded by
 * LD_PRELOAD set as function environment. The handler follows test/runtimes/support/matrix.ts: event
 * {"urls": [...], "probe": [...]} → GET every url (an error fails the invoke), GET every probe ignoring errors →
 * {"bytes": N}. The event's arrays are read with a minimal scanner (quoted strings without escapes: the test's own).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
  char *p;
  size_t n;
};

static size_t keep(char *d, size_t size, size_t n, void *ud) {
  struct buf *b = ud;
  char *p = realloc(b->p, b->n + size * n + 1);
  if (p == NULL) return 0;
  memcpy(p + b->n, d, size * n);
  b->p = p, b->n += size * n, p[b->n] = '\0';
  return size * n;
}

static size_t header(char *d, size_t size, size_t n, void *ud) {
  static const char name[] = "Lambda-Runtime-Aws-Request-Id:";
  if (size * n > sizeof name && strncasecmp(d, name, sizeof name - 1) == 0) {
    char *v = d + sizeof name - 1;
    while (*v == ' ') v++;
    snprintf(ud, 128, "%.*s", (int)strcspn(v, "\r\n"), v);
  }
  return size * n;
}

/* GET url; returns the body length, or -1 when the transfer failed or the status is not 200. */
static long get(CURL *h, const char *url) {
  struct buf b = {NULL, 0};
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  long status = 0;
  CURLcode c = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  free(b.p);
  return c == CURLE_OK && status == 200 ? (long)b.n : -1;
}

/* Calls f for each string of the array `key` in the JSON text. Returns -1 when f does. */
static long each(const char *json, const char *key, long (*f)(CURL *, const char *), CURL *h, int must) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char *p = strstr(json, pat);
  long total = 0;
  if (p == NULL) return 0;
  for (p += strlen(pat); *p && *p != ']';) {
    const char *q = strchr(p, '"');
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (q == NULL || e == NULL) break;
    char url[512];
    snprintf(url, sizeof url, "%.*s", (int)(e - q - 1), q + 1);
    long n = f(h, url);
    if (n < 0 && must) return -1;
    if (n > 0) total += n;
    p = e + 1;
  }
  return total;
}

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL) return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *rt = curl_easy_init(), *h = curl_easy_init();
  char url[256], id[128];
  for (;;) {
    struct buf ev = {NULL, 0};
    id[0] = '\0';
    snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
    curl_easy_reset(rt);
    curl_easy_setopt(rt, CURLOPT_URL, url);
    curl_easy_setopt(rt, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(rt, CURLOPT_WRITEDATA, &ev);
    curl_easy_setopt(rt, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(rt, CURLOPT_HEADERDATA, id);
    if (curl_easy_perform(rt) != CURLE_OK || id[0] == '\0' || ev.p == NULL) return 1;
    long bytes = each(ev.p, "urls", get, h, 1);
    if (bytes >= 0) each(ev.p, "probe", get, h, 0);
    char body[128];
    if (bytes >= 0) {
      snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api, id);
      snprintf(body, sizeof body, "{\"bytes\":%ld}", bytes);
    } else {
      snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/error", api, id);
      snprintf(body, sizeof body, "{\"errorMessage\":\"a request failed\",\"errorType\":\"FetchError\"}");
    }
    curl_easy_reset(rt);
    curl_easy_setopt(rt, CURLOPT_URL, url);
    curl_easy_setopt(rt, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(rt);
    free(ev.p);
  }
}
