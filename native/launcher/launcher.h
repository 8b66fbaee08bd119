/*
 * launcher.h — the parts of egress-guard-run, the native launcher of `egress-guard run` (main.c says what it does).
 */
#ifndef EG_LAUNCHER_H
#define EG_LAUNCHER_H
#include <stddef.h>

/* A file's stamp "dev:ino:size:mtime_ns:ctime_ns" (contracts/launch.yaml) into out[cap]; 0, or -1 when the file
 * cannot be stat'ed or the stamp does not fit. Follows symlinks, as the Node CLI's statSync does. */
int eg_stamp(const char *path, char *out, size_t cap);

/* 1 when the file is a regular file whose bytes hash (SHA-256) to hex (64 lower-case digits), else 0 (unreadable, a
 * device, a FIFO … included: never blocks, never reads past the size the file had when opened). */
int eg_file_sha256_is(const char *path, const char *hex);

/*
 * The file the command word `cmd` names, found as the Node CLI's findExecutable finds it: with a slash, the word
 * itself resolved against cwd; else the first `dir/cmd` over the `:`-separated entries of path (an empty entry is
 * `.`) that is executable (access X_OK) and a regular file. The result is an absolute path with `.` segments and
 * repeated slashes removed (path.resolve's form) in out[cap]. Returns 0, or -1 when none is found, when a candidate
 * holds a `..` segment (lexical and kernel resolution may differ there) or when it does not fit: the caller then
 * takes the Node.js path.
 */
int eg_find_executable(const char *cmd, const char *path, const char *cwd, char *out, size_t cap);

/* The result of a record that passed every check: what to do instead of starting Node.js. */
struct eg_launch {
  const char *exe; /* the file to exec */
  char **envp;     /* the command's environment (NULL-terminated, allocated) */
  const char *rec; /* the record's bytes (allocated); the strings above point into it */
  size_t len;
};

/*
 * Reads and checks the record for this invocation: run's arguments argv[0..nprefix) before the first `--`, the
 * command word cmd after it, the working directory cwd, the environment env. Returns 0 and fills *out when the record
 * exists, is private (a 0700 directory and a 0600 file of this user), well formed, and every one of its checks
 * passes; -1 on anything else (the caller runs the Node CLI). Writes the record's warnings to stderr only on success.
 */
int eg_launch_load(char *const *argv, size_t nprefix, const char *cmd, const char *cwd, char **env,
                   struct eg_launch *out);

/*
 * The checks of eg_launch_load on a record already read: rec[0..len) is any bytes in a heap block of exactly that
 * size, which this function owns (kept in out->rec on success, freed on failure). Returns 0 and fills *out only when
 * the record ends with a NUL, is well formed and every check passes for this invocation; -1 otherwise.
 */
int eg_launch_check(char *rec, size_t len, char *const *argv, size_t nprefix, const char *cmd, const char *cwd,
                    char **env, struct eg_launch *out);
#endif
