/*
 * state_file.c — creation and mapping of the invoke state file v2 (contract in state_file.h, layout in
 * gen/state.h, protocol in docs/STATE.md "Creation").
 *
 * Why link(2): the agent and the first guarded process start at the same moment and both may create the file. With
 * open(O_CREAT) + ftruncate + write, the loser can map a file whose header is still zero and reject it. A complete
 * image linked into place is atomic: the path either does not exist or names a whole file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_file.h"
#include "gen/state.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

void eg_state_file_image(uint8_t out[512]) {
  memset(out, 0, EG_STATE_SIZE);
  memcpy(out + EG_STATE_OFF_MAGIC, EG_STATE_MAGIC, 8);
  put32(out + EG_STATE_OFF_VERSION, EG_STATE_VERSION);
  put32(out + EG_STATE_OFF_SIZE, EG_STATE_SIZE);
  put64(out + EG_STATE_OFF_RX_TRIP_AT, UINT64_MAX);
  put64(out + EG_STATE_OFF_TX_TRIP_AT, UINT64_MAX);
  put64(out + EG_STATE_OFF_TOTAL_TRIP_AT, UINT64_MAX);
}

/* "<path>.<pid>.new" into buf; 0 when it does not fit. */
static int temp_name(char *buf, size_t cap, const char *path) {
  size_t n = strlen(path);
  char digits[24];
  size_t d = 0;
  unsigned long pid = (unsigned long)getpid();
  do digits[d++] = (char)('0' + pid % 10), pid /= 10;
  while (pid && d < sizeof digits);
  if (n + 1 + d + 4 + 1 > cap) return 0;
  memcpy(buf, path, n);
  buf[n++] = '.';
  while (d) buf[n++] = digits[--d];
  memcpy(buf + n, ".new", 5);
  return 1;
}

static void make_parent(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof dir) return;
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = '\0';
  (void)mkdir(dir, 0700); /* EEXIST and any other failure surface at the open/create below */
}

/* Creates `path` atomically (see the top of the file). Returns 0, or -1 with errno set (EEXIST is success). */
static int create(const char *path) {
  char tmp[4096];
  if (!temp_name(tmp, sizeof tmp, path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  make_parent(path);
  (void)unlink(tmp); /* a leftover of a process with our pid that died mid-creation */
  int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
  if (fd < 0) return -1;
  uint8_t img[EG_STATE_SIZE];
  eg_state_file_image(img);
  ssize_t w = pwrite(fd, img, sizeof img, 0);
  int saved = errno;
  close(fd);
  int rc = -1;
  if (w == (ssize_t)sizeof img) {
    rc = link(tmp, path);
    saved = errno;
    if (rc != 0 && saved == EEXIST) rc = 0;
  }
  (void)unlink(tmp);
  errno = saved;
  return rc;
}

uint8_t *eg_state_file_map(const char *path, int *err, int *sys_errno) {
  *sys_errno = 0;
  int flags = O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
  int fd = open(path, flags);
  if (fd < 0 && errno == ENOENT) {
    if (create(path) == 0) fd = open(path, flags);
  }
  if (fd < 0) {
    *sys_errno = errno;
    *err = EG_STF_E_OPEN;
    return NULL;
  }
  /* the size through lseek: fstat is fstat@GLIBC_2.33 on new build hosts (symver.h); a FIFO or device fails here */
  if (lseek(fd, 0, SEEK_END) != (off_t)EG_STATE_SIZE) {
    close(fd);
    *err = EG_STF_E_INVALID;
    return NULL;
  }
  void *m = mmap(NULL, EG_STATE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  *sys_errno = errno;
  close(fd);
  if (m == MAP_FAILED) {
    *err = EG_STF_E_OPEN;
    return NULL;
  }
  uint8_t *b = m;
  uint32_t version, size;
  memcpy(&version, b + EG_STATE_OFF_VERSION, 4);
  memcpy(&size, b + EG_STATE_OFF_SIZE, 4);
  if (memcmp(b + EG_STATE_OFF_MAGIC, EG_STATE_MAGIC, 8) != 0 || version != EG_STATE_VERSION || size != EG_STATE_SIZE) {
    munmap(m, EG_STATE_SIZE);
    *err = EG_STF_E_INVALID;
    return NULL;
  }
  *err = EG_STF_OK;
  return b;
}
