/*
 * rt.h — the exec wrapper's whole runtime: the system calls it makes, the process start, a few string functions.
 *
 * Why not libc: the wrapper runs once on every cold start, before the runtime, and its own start is all it costs.
 * A dynamically linked program pays for the dynamic loader mapping and relocating libc (≈ 0.6 ms of CPU on the
 * development VM, as much as the `dash` script it replaced), a statically linked glibc program for glibc's own start
 * (≈ 0.5 ms); a program with no library starts in ≈ 0.1 ms (docs/METERING.md "The agent's costs and limits", Init).
 *
 * Contract: x86_64 and aarch64 Linux only (the architectures of the layer). The program is linked static and
 * position-independent (-static-pie, BIND_NOW, RELRO, like every shipped executable): no PT_INTERP, so LD_PRELOAD
 * never loads anything into it; rt_start.c's _start applies its few relative relocations itself, makes RELRO
 * read-only, then calls wr_main(argc, argv, envp) and exits with its return value.
 * System calls return the kernel's result: a value ≥ 0, or -errno (there is no errno variable). The string.h
 * functions the program and src/json.c call (memcpy, memmove, memset, memcmp, strlen) are defined in rt_start.c.
 */
#ifndef EG_WRAPPER_RT_H
#define EG_WRAPPER_RT_H
#include <stddef.h>
#include <stdint.h>

int wr_main(int argc, char **argv, char **envp);

long rt_write(int fd, const void *buf, size_t len);
long rt_faccessat(const char *path, int mode); /* relative to the working directory, flags 0 (real ids, as access) */
long rt_stat_id(const char *path, uint64_t *dev, uint64_t *ino); /* follows symbolic links */
long rt_execve(const char *path, char *const argv[], char *const envp[]);
long rt_getpid(void);
uint64_t rt_realtime_ms(void);
void *rt_mmap_anon(size_t len); /* NULL when it fails */
_Noreturn void rt_exit(int status);

int rt_streq(const char *a, const char *b);
char *rt_strchr(const char *s, int c);

/* Bump allocation from a static arena, falling back to anonymous mappings; never freed (the program execs). */
void *rt_alloc(size_t len);

#endif
