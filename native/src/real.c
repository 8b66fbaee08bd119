/*
 * real.c — the next definition of every hooked symbol (dlsym(RTLD_NEXT, name)), resolved lazily on first use. The
 * names come from hooks.def, so they cannot drift from the hooks.
 *
 * Contract: eg_real(id) never aborts. A NULL result, or a pointer back into this library (dlsym can hand back our own
 * hook when nothing follows us in the lookup scope), is cached as "unavailable" and NULL is returned; the caller then
 * fails that one call with ENOSYS (or EAI_SYSTEM) — a loud error instead of the infinite recursion or abort() other
 * interposers use. Concurrent first calls may both resolve; they store the same value (relaxed atomics).
 * dlsym/dladdr are pinned to their GLIBC_2.2.5 / GLIBC_2.17 versions by symver.h so the library loads on glibc 2.17+
 * (docs/LAMBDA.md "glibc and architectures").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

#include "hook.h"

static const char *const names[EG_HOOK_COUNT] = {
#define HOOK(name, ret, params) [EG_HOOK_##name] = #name,
#include "hooks.def"
#undef HOOK
};

#define UNAVAILABLE ((void *)(uintptr_t)1)
static void *cache[EG_HOOK_COUNT];

static void anchor(void) {}

void *eg_real(int id) {
  void *f = __atomic_load_n(&cache[id], __ATOMIC_RELAXED);
  if (EG_LIKELY(f != NULL)) return f == UNAVAILABLE ? NULL : f;
  eg_enter(); /* dlsym may allocate or take locks: keep anything it calls out of the hooks */
  f = dlsym(RTLD_NEXT, names[id]);
  if (f != NULL) {
    Dl_info a, self;
    if (dladdr(f, &a) != 0 && dladdr((void *)(uintptr_t)&anchor, &self) != 0 && a.dli_fbase == self.dli_fbase)
      f = NULL; /* our own hook: circular */
  }
  eg_leave();
  __atomic_store_n(&cache[id], f != NULL ? f : UNAVAILABLE, __ATOMIC_RELAXED);
  return f;
}

long eg_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  eg_syscall_fn real = EG_REAL(syscall);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(nr, a1, a2, a3, a4, a5, a6);
}
