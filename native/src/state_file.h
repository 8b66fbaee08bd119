/*
 * state_file.h — open (creating it if needed) and map the invoke state file v2 (docs/STATE.md "Creation").
 *
 * Shared by the interposer (state.c) and the agent: no hooks, no logging, no allocation. Safe to call before main.
 */
#ifndef EG_STATE_FILE_H
#define EG_STATE_FILE_H
#include <stdint.h>

enum { EG_STF_OK = 0, EG_STF_E_OPEN = 1, EG_STF_E_INVALID = 2 };

/* Maps `path` read-write, MAP_SHARED, EG_STATE_SIZE bytes. When it does not exist, creates its directory (one level,
 * 0700) and the file so that no process ever sees it half-written: a complete 512-byte image is written under a
 * private name and link(2)ed into place (EEXIST = another process won the race: its file is used). Returns the
 * mapping, or NULL with *err = EG_STF_E_OPEN (*sys_errno set) or EG_STF_E_INVALID (wrong magic, version or size). */
uint8_t *eg_state_file_map(const char *path, int *err, int *sys_errno);

/* The 512 bytes of a fresh file: magic, version, size, thresholds "not armed" (UINT64_MAX), everything else 0. */
void eg_state_file_image(uint8_t out[512]);

#endif
