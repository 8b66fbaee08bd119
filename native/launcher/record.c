/*
 * record.c — finding, reading and checking the launch record of an invocation (contracts/launch.yaml; the contract
 * of eg_launch_load is in launcher.h). Every check that fails is a miss: the record is never partly trusted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gen/launch.h"
#include "launcher.h"
#include "sha256.h"

#define PATH_CAP 4096

static const char *const KEY_ENV[EG_LAUNCH_NKEY_ENV] = {EG_LAUNCH_KEY_ENV};

struct item_kind {
  const char *word;
  int values;
};
#define EG_KIND(name, word, values) [name] = {word, values},
static const struct item_kind KINDS[EG_LAUNCH_NITEMS] = {EG_LAUNCH_ITEMS(EG_KIND)};
#undef EG_KIND

static void part(struct eg_sha256 *s, const char *str) { eg_sha256_update(s, str, strlen(str) + 1); }

/* The record's file name: the key (contracts/launch.yaml key_tag) and the suffix. */
static void record_name(char *const *argv, size_t nprefix, const char *cmd, const char *cwd, char *out, size_t cap) {
  struct eg_sha256 s;
  char num[32];
  eg_sha256_init(&s);
  part(&s, EG_LAUNCH_KEY_TAG);
  part(&s, cwd);
  snprintf(num, sizeof num, "%zu", nprefix);
  part(&s, num);
  for (size_t i = 0; i < nprefix; i++) part(&s, argv[i]);
  part(&s, cmd);
  for (size_t i = 0; i < EG_LAUNCH_NKEY_ENV; i++) {
    const char *v = getenv(KEY_ENV[i]);
    eg_sha256_update(&s, KEY_ENV[i], strlen(KEY_ENV[i]));
    if (v != NULL) {
      eg_sha256_update(&s, "=", 1);
      eg_sha256_update(&s, v, strlen(v));
    }
    eg_sha256_update(&s, "", 1);
  }
  unsigned char d[32];
  char hex[65];
  eg_sha256_final(&s, d);
  eg_sha256_hex(d, hex);
  snprintf(out, cap, "%s%s", hex, EG_LAUNCH_SUFFIX);
}

/* fstat through the system call (see files.c). */
static int fstat_fd(int fd, struct stat *st) { return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH); }

/* True when st is owned by this user and has no group/other permission bits. */
static int private_to_me(const struct stat *st) { return st->st_uid == getuid() && (st->st_mode & 077) == 0; }

/* The record file's bytes (NUL-terminated by the record itself), or NULL. */
static char *read_record(char *const *argv, size_t nprefix, const char *cmd, const char *cwd, size_t *len) {
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  char dir[PATH_CAP];
  int n;
  if (xdg != NULL && xdg[0] == '/') n = snprintf(dir, sizeof dir, "%s/%s", xdg, EG_LAUNCH_DIR);
  else if (home != NULL && home[0] != '\0') n = snprintf(dir, sizeof dir, "%s/.cache/%s", home, EG_LAUNCH_DIR);
  else return NULL; /* the CLI would ask the password database: not worth a second rule here */
  if (n < 0 || (size_t)n >= sizeof dir) return NULL;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return NULL;
  struct stat st;
  char name[128];
  record_name(argv, nprefix, cmd, cwd, name, sizeof name);
  int fd = -1;
  if (fstat_fd(dfd, &st) == 0 && private_to_me(&st)) fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  close(dfd);
  if (fd < 0) return NULL;
  char *buf = NULL;
  if (fstat_fd(fd, &st) == 0 && S_ISREG(st.st_mode) && private_to_me(&st) && st.st_size > 0 &&
      st.st_size <= EG_LAUNCH_MAX_SIZE) {
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size + 1);
    while (buf != NULL && got < size) {
      ssize_t r = read(fd, buf + got, size - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += (size_t)r;
    }
    if (buf != NULL && got == size && buf[size - 1] == '\0') {
      *len = size;
    } else {
      free(buf);
      buf = NULL;
    }
  }
  close(fd);
  return buf;
}

/* The next NUL-terminated string at *pos in rec[0..len), or NULL at the end. */
static const char *next(const char *rec, size_t len, size_t *pos) {
  if (*pos >= len) return NULL;
  const char *s = rec + *pos;
  *pos += strlen(s) + 1; /* rec[len - 1] is a NUL: strlen stays inside */
  return s;
}

static int kind_of(const char *word) {
  for (int k = 0; k < EG_LAUNCH_NITEMS; k++)
    if (strcmp(KINDS[k].word, word) == 0) return k;
  return -1;
}

static int key_env_index(const char *name) {
  for (int i = 0; i < EG_LAUNCH_NKEY_ENV; i++)
    if (strcmp(KEY_ENV[i], name) == 0) return i;
  return -1;
}

/* The next item at *pos: its kind, with its value strings in v ("" where it has none); -1 at the end of the record
 * or on an unknown word or a missing value. */
static int next_item(const char *rec, size_t len, size_t *pos, const char *v[2]) {
  v[0] = "";
  v[1] = "";
  const char *word = next(rec, len, pos);
  int kind = word != NULL ? kind_of(word) : -1;
  if (kind < 0) return -1;
  for (int j = 0; j < KINDS[kind].values; j++)
    if ((v[j] = next(rec, len, pos)) == NULL) return -1;
  return kind;
}

static int valid_name(const char *name) { return name[0] != '\0' && strchr(name, '=') == NULL; }

/* Checks one item (its values in v) against the invocation; 0 when it holds. */
static int check_item(int kind, const char *const *v, char *const *argv, size_t nprefix, const char *cmd,
                      const char *cwd, size_t *nargs, unsigned *seen_env, int *seen, const char **exe) {
  char buf[PATH_CAP];
  int i;
  const char *val;
  switch (kind) {
  case EG_LAUNCH_CWD:
  case EG_LAUNCH_CMD: seen[kind]++; return strcmp(v[0], kind == EG_LAUNCH_CWD ? cwd : cmd) == 0 ? 0 : -1;
  case EG_LAUNCH_ARG:
    if (*nargs >= nprefix || strcmp(v[0], argv[*nargs]) != 0) return -1;
    (*nargs)++;
    return 0;
  case EG_LAUNCH_ENV:
  case EG_LAUNCH_UNSET:
    i = key_env_index(v[0]);
    if (i < 0 || (*seen_env & (1u << i)) != 0) return -1;
    *seen_env |= 1u << i;
    val = getenv(v[0]);
    if (kind == EG_LAUNCH_UNSET) return val == NULL ? 0 : -1;
    return val != NULL && strcmp(val, v[1]) == 0 ? 0 : -1;
  case EG_LAUNCH_EXE: {
    seen[kind]++;
    const char *path = getenv("PATH");
    if (path == NULL || eg_find_executable(cmd, path, cwd, buf, sizeof buf) != 0 || strcmp(buf, v[0]) != 0) return -1;
    *exe = v[0];
  } /* fall through: and its stamp */
  /* FALLTHROUGH */
  case EG_LAUNCH_STAT: return eg_stamp(v[0], buf, sizeof buf) == 0 && strcmp(buf, v[1]) == 0 ? 0 : -1;
  case EG_LAUNCH_SHA256: return eg_file_sha256_is(v[0], v[1]) ? 0 : -1;
  case EG_LAUNCH_WARN: return 0;
  case EG_LAUNCH_SET: return valid_name(v[0]) ? 0 : -1;
  default: return -1;
  }
}

/* Every item checked, in order; the record must end with `end`. */
static int check_record(const char *rec, size_t len, char *const *argv, size_t nprefix, const char *cmd,
                        const char *cwd, const char **exe) {
  size_t pos = 0, nargs = 0;
  unsigned seen_env = 0;
  int seen[EG_LAUNCH_NITEMS] = {0};
  const char *s = next(rec, len, &pos);
  if (s == NULL || strcmp(s, EG_LAUNCH_MAGIC) != 0) return -1;
  for (;;) {
    const char *v[2];
    int kind = next_item(rec, len, &pos, v);
    if (kind < 0) return -1;
    if (kind == EG_LAUNCH_END) break;
    if (check_item(kind, v, argv, nprefix, cmd, cwd, &nargs, &seen_env, seen, exe) != 0) return -1;
  }
  int complete = pos == len && seen[EG_LAUNCH_CWD] == 1 && seen[EG_LAUNCH_CMD] == 1 && seen[EG_LAUNCH_EXE] == 1 &&
                 nargs == nprefix && seen_env == (1u << EG_LAUNCH_NKEY_ENV) - 1;
  return complete ? 0 : -1;
}

/* True when environment entry e ("NAME=…") is for a variable the checked record rec sets. */
static int is_set_by(const char *e, const char *rec, size_t len) {
  size_t pos = strlen(rec) + 1;
  const char *v[2];
  int kind;
  while ((kind = next_item(rec, len, &pos, v)) >= 0 && kind != EG_LAUNCH_END) {
    size_t n = strlen(v[0]);
    if (kind == EG_LAUNCH_SET && strncmp(e, v[0], n) == 0 && e[n] == '=') return 1;
  }
  return 0;
}

/* The command's environment from the checked record rec: env without the variables it sets, then each SET as
 * NAME=VALUE. NULL when out of memory. */
static char **build_env(const char *rec, size_t len, char **env) {
  size_t n = 0, k = 0, items = 0;
  while (env[n] != NULL) n++;
  for (size_t i = 0; i < len; i++) items += rec[i] == '\0';
  char **out = calloc(n + items + 1, sizeof *out);
  if (out == NULL) return NULL;
  for (size_t i = 0; i < n; i++)
    if (!is_set_by(env[i], rec, len)) out[k++] = env[i];
  size_t kept = k, pos = strlen(rec) + 1;
  const char *v[2];
  int kind;
  while ((kind = next_item(rec, len, &pos, v)) >= 0 && kind != EG_LAUNCH_END) {
    if (kind != EG_LAUNCH_SET) continue;
    size_t a = strlen(v[0]), b = strlen(v[1]);
    char *e = malloc(a + b + 2);
    if (e == NULL) {
      while (k > kept) free(out[--k]);
      free(out);
      return NULL;
    }
    memcpy(e, v[0], a);
    e[a] = '=';
    memcpy(e + a + 1, v[1], b + 1);
    out[k++] = e;
  }
  return out;
}

/* Writes the WARN texts of the checked record rec to stderr. */
static void write_warnings(const char *rec, size_t len) {
  size_t pos = strlen(rec) + 1;
  const char *v[2];
  int kind;
  while ((kind = next_item(rec, len, &pos, v)) >= 0 && kind != EG_LAUNCH_END) {
    if (kind != EG_LAUNCH_WARN) continue;
    for (size_t off = 0, n = strlen(v[0]); off < n;) {
      ssize_t w = write(STDERR_FILENO, v[0] + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
  }
}

int eg_launch_check(char *rec, size_t len, char *const *argv, size_t nprefix, const char *cmd, const char *cwd,
                    char **env, struct eg_launch *out) {
  const char *exe = NULL;
  char **envp = NULL;
  if (len == 0 || rec[len - 1] != '\0' || check_record(rec, len, argv, nprefix, cmd, cwd, &exe) != 0 ||
      (envp = build_env(rec, len, env)) == NULL) {
    free(rec);
    return -1;
  }
  write_warnings(rec, len);
  out->exe = exe;
  out->envp = envp;
  out->rec = rec;
  out->len = len;
  return 0;
}

int eg_launch_load(char *const *argv, size_t nprefix, const char *cmd, const char *cwd, char **env,
                   struct eg_launch *out) {
  size_t len = 0;
  char *rec = read_record(argv, nprefix, cmd, cwd, &len);
  if (rec == NULL) return -1;
  return eg_launch_check(rec, len, argv, nprefix, cmd, cwd, env, out);
}
