/*
 * files.c — what the launcher asks of files: stamps, content hashes, the PATH search (launcher.h has the contracts).
 * stat goes through the newfstatat system call: the glibc stat functions' default symbol versions are newer than
 * glibc 2.17, which the native executables support (docs/LAMBDA.md "glibc and architectures"); on x86_64 and
 * aarch64 the kernel's struct stat is glibc's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"
#include "sha256.h"

static int stat_path(const char *path, struct stat *st) { return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0); }
static int fstat_fd(int fd, struct stat *st) { return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH); }

int eg_stamp(const char *path, char *out, size_t cap) {
  struct stat st;
  if (stat_path(path, &st) != 0 || st.st_mtim.tv_sec < 0 || st.st_ctim.tv_sec < 0) return -1;
  uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t)st.st_mtim.tv_nsec;
  uint64_t ctime = (uint64_t)st.st_ctim.tv_sec * UINT64_C(1000000000) + (uint64_t)st.st_ctim.tv_nsec;
  int n = snprintf(out, cap, "%" PRIu64 ":%" PRIu64 ":%" PRId64 ":%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev,
                   (uint64_t)st.st_ino, (int64_t)st.st_size, mtime, ctime);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

int eg_file_sha256_is(const char *path, const char *hex) {
  /* O_NONBLOCK: a FIFO named here must not block the open; only a regular file is hashed, and only as many bytes as
   * it had when opened (a device such as /dev/zero would never end) */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat_fd(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
    close(fd);
    return 0;
  }
  struct eg_sha256 s;
  eg_sha256_init(&s);
  unsigned char buf[65536];
  for (uint64_t left = (uint64_t)st.st_size; left > 0;) {
    ssize_t n = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (n == 0) break; /* shrunk: the hash will not match */
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return 0;
    }
    eg_sha256_update(&s, buf, (size_t)n);
    left -= (uint64_t)n;
  }
  close(fd);
  unsigned char d[32];
  char got[65];
  eg_sha256_final(&s, d);
  eg_sha256_hex(d, got);
  return strcmp(got, hex) == 0;
}

/* Appends the segments of p to out[*len..cap) (path.resolve's form): repeated slashes and `.` dropped. -1 on a `..`
 * segment or overflow. */
static int append_segments(const char *p, char *out, size_t *len, size_t cap) {
  while (*p != '\0') {
    while (*p == '/') p++;
    const char *end = strchr(p, '/');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    if (n == 0) break;
    if (n == 2 && p[0] == '.' && p[1] == '.') return -1;
    if (!(n == 1 && p[0] == '.')) {
      if (*len + 1 + n + 1 > cap) return -1;
      out[(*len)++] = '/';
      memcpy(out + *len, p, n);
      *len += n;
      out[*len] = '\0';
    }
    p += n;
  }
  return 0;
}

/* resolve(cwd, dir, cmd) into out; dir may be NULL. */
static int resolve3(const char *cwd, const char *dir, size_t dirlen, const char *cmd, char *out, size_t cap) {
  char d[4096];
  size_t len = 0;
  if (cap < 2) return -1;
  out[0] = '\0';
  if (dir != NULL) {
    if (dirlen >= sizeof d) return -1;
    memcpy(d, dir, dirlen);
    d[dirlen] = '\0';
  }
  int dir_abs = dir != NULL && d[0] == '/';
  int cmd_abs = cmd[0] == '/';
  if (!cmd_abs && !dir_abs && append_segments(cwd, out, &len, cap) != 0) return -1;
  if (!cmd_abs && dir != NULL && append_segments(d, out, &len, cap) != 0) return -1;
  if (append_segments(cmd, out, &len, cap) != 0) return -1;
  if (len == 0) {
    out[0] = '/';
    out[1] = '\0';
  }
  return 0;
}

static int is_exec_file(const char *p) {
  struct stat st;
  return access(p, X_OK) == 0 && stat_path(p, &st) == 0 && S_ISREG(st.st_mode);
}

int eg_find_executable(const char *cmd, const char *path, const char *cwd, char *out, size_t cap) {
  if (cmd[0] == '\0') return -1;
  if (strchr(cmd, '/') != NULL) {
    if (resolve3(cwd, NULL, 0, cmd, out, cap) != 0) return -1;
    return is_exec_file(out) ? 0 : -1;
  }
  const char *p = path;
  for (;;) {
    const char *end = strchr(p, ':');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    int r = n == 0 ? resolve3(cwd, ".", 1, cmd, out, cap) : resolve3(cwd, p, n, cmd, out, cap);
    if (r != 0) return -1;
    if (is_exec_file(out)) return 0;
    if (end == NULL) return -1;
    p = end + 1;
  }
}
