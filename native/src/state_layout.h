/*
 * state_layout.h — the invoke state file, version 2 (docs/STATE.md is the contract; this header follows it).
 *
 * 512 bytes, little-endian, mapped MAP_SHARED by the interposer (every guarded process) and the agent. Offsets are
 * named here once; nothing else in the C code writes a raw offset into the file. Fields may be added in reserved
 * space; an existing field never moves.
 */
#ifndef EG_STATE_LAYOUT_H
#define EG_STATE_LAYOUT_H

#define EG_ST_MAGIC "EGSTATE\x02"
#define EG_ST_VERSION 2u
#define EG_ST_SIZE 512u

#define EG_ST_OFF_MAGIC 0
#define EG_ST_OFF_VERSION 8
#define EG_ST_OFF_SIZE 12
#define EG_ST_OFF_SEQ 16            /* u64 seqlock over [24, 104): odd while the agent writes */
#define EG_ST_OFF_INVOKE_SEQ 24     /* u64 0 = init phase; +1 per invoke */
#define EG_ST_OFF_FLAGS 32          /* u32 EG_ST_F_* */
#define EG_ST_OFF_REQUEST_ID_LEN 36 /* u32 0..64 */
#define EG_ST_OFF_REQUEST_ID 40     /* u8[64] ASCII, zero padded */
#define EG_ST_OFF_TRIP_GEN 104      /* u32 +1 per trip (atomic add by whoever trips) */
#define EG_ST_OFF_TRIP_BUDGET 108   /* u32 EG_ST_TRIP_*: CAS from 0 by the tripper; zeroed by the agent at invoke start */
#define EG_ST_OFF_AGENT_PID 112     /* u64 pid of the agent, 0 = none */
#define EG_ST_OFF_IO_RX 128         /* u64 app-level bytes received on egress sockets (interposer, atomic add) */
#define EG_ST_OFF_IO_TX 136         /* u64 app-level bytes sent on egress sockets */
#define EG_ST_OFF_RX_TRIP_AT 144    /* u64 io_rx value above which rxBytes is exceeded; UINT64_MAX = not armed */
#define EG_ST_OFF_TX_TRIP_AT 152    /* u64 same for io_tx */
#define EG_ST_OFF_TOTAL_TRIP_AT 160 /* u64 compared with io_rx + io_tx */
#define EG_ST_OFF_N_ALLOWED 192     /* u64 counters of the interposer (relaxed atomic adds, monotonic) */
#define EG_ST_OFF_N_DENIED 200
#define EG_ST_OFF_N_BLOCKED 208
#define EG_ST_OFF_N_UNCOVERED 216
#define EG_ST_OFF_N_SUPPRESSED 224
#define EG_ST_OFF_N_CUT 232

#define EG_ST_SEQLOCK_BEGIN 24
#define EG_ST_SEQLOCK_END 104
#define EG_ST_REQUEST_ID_MAX 64u

#define EG_ST_F_IN_INVOKE 0x1u
#define EG_ST_F_BUDGET_TRIPPED 0x2u
#define EG_ST_F_CONCURRENT 0x4u
#define EG_ST_F_ARMED 0x8u

#define EG_ST_TRIP_NONE 0u
#define EG_ST_TRIP_RX 1u
#define EG_ST_TRIP_TX 2u
#define EG_ST_TRIP_TOTAL 3u

#endif
