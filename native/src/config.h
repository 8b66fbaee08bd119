/*
 * config.h — the configuration rule of contracts/config.yaml in C, ONE implementation for every C component that
 * reads EGRESS_GUARD_* variables (the interposer's init.c, egress-guard-proxy, the agent).
 *
 * The rule: unset or blank = the default; words are compared after trimming ASCII whitespace (EG_CFG_WHITESPACE)
 * and ASCII-lower-casing, and must then equal one of the variable's words exactly; anything else is invalid and the
 * variable's invalid behaviour applies (EGRESS_GUARD_MODE: enforce, failing closed; the others: their default, with
 * a warning). Paths are used as given.
 *
 * Contract: pure functions of their arguments — no allocation, no stdio, no errno change, no global state —
 * so they are safe in a constructor, under the interposer's re-entry guard and in a forked child. The words, default
 * values, error codes and messages come from gen/config.h; nothing here repeats them.
 */
#ifndef EG_CONFIG_H
#define EG_CONFIG_H

#include "gen/config.h"

#define EG_CFG_UNSET (-1)   /* unset or blank: the variable's default applies */
#define EG_CFG_INVALID (-2) /* not a valid value: the variable's invalid behaviour applies */
#define EG_CFG_PATH (-3)    /* a `dest` variable holding a path rather than one of its keywords */

/* Index of value in words[0..nwords) under the rule, or EG_CFG_UNSET / EG_CFG_INVALID. value may be NULL. */
int eg_cfg_word(const char *value, const char *const *words, int nwords);

/* 1 or 0 for a bool's words (EG_CFG_TRUE_WORDS / EG_CFG_FALSE_WORDS), or EG_CFG_UNSET / EG_CFG_INVALID. */
int eg_cfg_bool(const char *value);

/* A decimal integer (digits only, after trimming) in [min, max]: stored in *out, returns 1; or EG_CFG_UNSET /
 * EG_CFG_INVALID (out untouched). */
int eg_cfg_int(const char *value, long min, long max, long *out);

/* 1 when value is NULL, empty or only whitespace. */
int eg_cfg_blank(const char *value);

/* A path variable's value as given, or NULL when it is unset or blank. */
const char *eg_cfg_path(const char *value);

/* The settings every guard component reads, parsed by the rule. String fields point into the environment. */
struct eg_settings {
  int mode;              /* EG_CFG_MODE_OFF / _AUDIT / _ENFORCE, or EG_CFG_UNSET: the policy file decides */
  int mode_invalid;      /* 1: EGRESS_GUARD_MODE was invalid; mode is EG_CFG_MODE_ENFORCE and the guard fails closed */
  int log_level;         /* EG_CFG_LOG_LEVEL_*, or EG_CFG_UNSET: the mode's default (eg_settings_level) */
  int log_level_invalid; /* 1: EGRESS_GUARD_LOG_LEVEL was invalid (log_level is EG_CFG_UNSET) */
  int log_dest;          /* EG_CFG_LOG_STDERR, EG_CFG_LOG_OFF, or EG_CFG_PATH (log_path) */
  const char *log_path;
  int verify_full; /* EGRESS_GUARD_VERIFY=full */
  int verify_invalid;
  const char *policy_path; /* NULL when unset or blank */
  const char *state_path;  /* NULL when unset or blank */
};

/* Reads the variables through get (getenv, or a test's table) and applies the rule to each. */
void eg_settings_read(struct eg_settings *s, const char *(*get)(const char *name));

/* The log level in effect: the configured one, else the mode's default (deny in enforce, allow otherwise). */
int eg_settings_level(const struct eg_settings *s, int enforce);

#endif
