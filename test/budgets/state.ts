/**
 * Arms the invoke state file (docs/STATE.md) the way the agent does at the start of an invoke, for interposer-level
 * budget tests: thresholds relative to the counters already in the file (they are never reset), flags
 * IN_INVOKE | ARMED, trip_budget 0, BUDGET_TRIPPED cleared. Reads it back for assertions. Real file, real layout.
 *
 * API
 * - `createState(path)` → writes a fresh file (magic, version, size, thresholds "no limit").
 * - `arm(path, { rxBytes?, txBytes?, totalBytes? }, { armed = true })` → thresholds = current counter + budget.
 * - `disarm(path)` → flags = 0, thresholds "no limit" (between invokes).
 * - `tripAsAgent(path, budget)` → what the agent's sampler does when /proc/net/dev passes a budget: trip_budget by
 *   CAS from 0, BUDGET_TRIPPED set, trip_gen + 1 (plain file writes; the agent uses atomics on its mapping).
 * - `readState(path)` → `{ flags, tripGen, tripBudget, ioRx, ioTx, nCut }`.
 */
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import {
  STATE_FIELD,
  STATE_FLAG_ARMED,
  STATE_FLAG_BUDGET_TRIPPED,
  STATE_FLAG_IN_INVOKE,
  STATE_MAGIC,
  STATE_NO_LIMIT,
  STATE_SIZE,
  STATE_VERSION,
} from '../../policy/gen/state.js';

export interface Budgets {
  rxBytes?: number;
  txBytes?: number;
  totalBytes?: number;
}

export interface StateView {
  flags: number;
  tripGen: number;
  tripBudget: number;
  ioRx: bigint;
  ioTx: bigint;
  nCut: bigint;
}

function image(): Buffer {
  const b = Buffer.alloc(STATE_SIZE);
  b.set(STATE_MAGIC, STATE_FIELD.magic.offset);
  b.writeUInt32LE(STATE_VERSION, STATE_FIELD.version.offset);
  b.writeUInt32LE(STATE_SIZE, STATE_FIELD.size.offset);
  for (const f of [STATE_FIELD.rx_trip_at, STATE_FIELD.tx_trip_at, STATE_FIELD.total_trip_at])
    b.writeBigUInt64LE(STATE_NO_LIMIT, f.offset);
  return b;
}

export function createState(path: string): void {
  writeFileSync(path, image(), { mode: 0o600 });
}

export function readState(path: string): StateView {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(STATE_SIZE);
  try {
    readSync(fd, b, 0, STATE_SIZE, 0);
  } finally {
    closeSync(fd);
  }
  return {
    flags: b.readUInt32LE(STATE_FIELD.flags.offset),
    tripGen: b.readUInt32LE(STATE_FIELD.trip_gen.offset),
    tripBudget: b.readUInt32LE(STATE_FIELD.trip_budget.offset),
    ioRx: b.readBigUInt64LE(STATE_FIELD.io_rx.offset),
    ioTx: b.readBigUInt64LE(STATE_FIELD.io_tx.offset),
    nCut: b.readBigUInt64LE(STATE_FIELD.n_cut.offset),
  };
}

function put(fd: number, offset: number, size: 4 | 8, v: number | bigint): void {
  const b = Buffer.alloc(size);
  if (size === 4) b.writeUInt32LE(Number(v));
  else b.writeBigUInt64LE(BigInt(v));
  writeSync(fd, b, 0, size, offset);
}

export function arm(path: string, budgets: Budgets, opts: { armed?: boolean } = {}): void {
  const s = readState(path);
  const at = (v: number | undefined, base: bigint) => (v === undefined ? STATE_NO_LIMIT : base + BigInt(v));
  const fd = openSync(path, 'r+');
  try {
    put(fd, STATE_FIELD.rx_trip_at.offset, 8, at(budgets.rxBytes, s.ioRx));
    put(fd, STATE_FIELD.tx_trip_at.offset, 8, at(budgets.txBytes, s.ioTx));
    put(fd, STATE_FIELD.total_trip_at.offset, 8, at(budgets.totalBytes, s.ioRx + s.ioTx));
    put(fd, STATE_FIELD.trip_budget.offset, 4, 0);
    put(fd, STATE_FIELD.flags.offset, 4, STATE_FLAG_IN_INVOKE | ((opts.armed ?? true) ? STATE_FLAG_ARMED : 0));
  } finally {
    closeSync(fd);
  }
}

export function disarm(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    put(fd, STATE_FIELD.flags.offset, 4, 0);
    for (const f of [STATE_FIELD.rx_trip_at, STATE_FIELD.tx_trip_at, STATE_FIELD.total_trip_at])
      put(fd, f.offset, 8, STATE_NO_LIMIT);
  } finally {
    closeSync(fd);
  }
}

export function tripAsAgent(path: string, budget: 1 | 2 | 3): void {
  const s = readState(path);
  const fd = openSync(path, 'r+');
  try {
    if (s.tripBudget === 0) put(fd, STATE_FIELD.trip_budget.offset, 4, budget);
    put(fd, STATE_FIELD.flags.offset, 4, s.flags | STATE_FLAG_BUDGET_TRIPPED);
    put(fd, STATE_FIELD.trip_gen.offset, 4, s.tripGen + 1);
  } finally {
    closeSync(fd);
  }
}
