/*
 * config.c — the configuration rule (contracts/config.yaml) over the words of gen/config.h; contracts in config.h.
 */
#include <stddef.h>

#include "config.h"

static int is_space(char c) {
  for (const char *w = EG_CFG_WHITESPACE; *w != '\0'; w++)
    if (*w == c) return 1;
  return 0;
}

/* The value without the whitespace around it: [*b, *e). Returns 0 when nothing is left (unset or blank). */
static int trimmed(const char *v, const char **b, const char **e) {
  if (v == NULL) return 0;
  const char *end = v;
  while (*end != '\0') end++;
  while (v < end && is_space(*v)) v++;
  while (end > v && is_space(end[-1])) end--;
  *b = v;
  *e = end;
  return v < end;
}

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static int equals_word(const char *b, const char *e, const char *word) {
  for (; b < e; b++, word++)
    if (*word == '\0' || ascii_lower(*b) != *word) return 0;
  return *word == '\0';
}

int eg_cfg_blank(const char *value) {
  const char *b, *e;
  return !trimmed(value, &b, &e);
}

int eg_cfg_word(const char *value, const char *const *words, int nwords) {
  const char *b, *e;
  if (!trimmed(value, &b, &e)) return EG_CFG_UNSET;
  for (int i = 0; i < nwords; i++)
    if (equals_word(b, e, words[i])) return i;
  return EG_CFG_INVALID;
}

int eg_cfg_bool(const char *value) {
  static const char *const yes[] = {EG_CFG_TRUE_WORDS}, *const no[] = {EG_CFG_FALSE_WORDS};
  int r = eg_cfg_word(value, yes, EG_CFG_NTRUE_WORDS);
  if (r >= 0) return 1;
  if (r == EG_CFG_UNSET) return EG_CFG_UNSET;
  return eg_cfg_word(value, no, EG_CFG_NFALSE_WORDS) >= 0 ? 0 : EG_CFG_INVALID;
}

int eg_cfg_int(const char *value, long min, long max, long *out) {
  const char *b, *e;
  if (!trimmed(value, &b, &e)) return EG_CFG_UNSET;
  long n = 0;
  for (; b < e; b++) {
    if (*b < '0' || *b > '9') return EG_CFG_INVALID;
    int d = *b - '0';
    if (n > max / 10 || (n == max / 10 && d > max % 10)) return EG_CFG_INVALID; /* above max; never overflows */
    n = n * 10 + d;
  }
  if (n < min) return EG_CFG_INVALID;
  *out = n;
  return 1;
}

const char *eg_cfg_path(const char *value) { return eg_cfg_blank(value) ? NULL : value; }

void eg_settings_read(struct eg_settings *s, const char *(*get)(const char *name)) {
  static const char *const modes[] = {EG_CFG_MODE_WORDS}, *const levels[] = {EG_CFG_LOG_LEVEL_WORDS},
                           *const dests[] = {EG_CFG_LOG_WORDS}, *const verify[] = {EG_CFG_VERIFY_WORDS};
  s->mode = eg_cfg_word(get(EG_CFG_MODE_NAME), modes, EG_CFG_MODE_NWORDS);
  s->mode_invalid = s->mode == EG_CFG_INVALID;
  if (s->mode_invalid) s->mode = EG_CFG_MODE_INVALID_USE;

  s->log_level = eg_cfg_word(get(EG_CFG_LOG_LEVEL_NAME), levels, EG_CFG_LOG_LEVEL_NWORDS);
  s->log_level_invalid = s->log_level == EG_CFG_INVALID;
  if (s->log_level_invalid) s->log_level = EG_CFG_UNSET; /* EG_CFG_LOG_LEVEL_INVALID_USE: the default */

  const char *log = get(EG_CFG_LOG_NAME);
  s->log_path = NULL;
  s->log_dest = eg_cfg_word(log, dests, EG_CFG_LOG_NWORDS);
  if (s->log_dest == EG_CFG_UNSET) s->log_dest = EG_CFG_LOG_STDERR;
  else if (s->log_dest == EG_CFG_INVALID) s->log_dest = EG_CFG_PATH, s->log_path = log;

  int v = eg_cfg_word(get(EG_CFG_VERIFY_NAME), verify, EG_CFG_VERIFY_NWORDS);
  s->verify_invalid = v == EG_CFG_INVALID;
  s->verify_full = v == EG_CFG_VERIFY_FULL;

  s->policy_path = eg_cfg_path(get(EG_CFG_POLICY_NAME));
  s->state_path = eg_cfg_path(get(EG_CFG_STATE_NAME));
}

int eg_settings_level(const struct eg_settings *s, int enforce) {
  if (s->log_level >= 0) return s->log_level;
  return enforce ? EG_CFG_LOG_LEVEL_DENY : EG_CFG_LOG_LEVEL_ALLOW;
}
