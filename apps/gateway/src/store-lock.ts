/**
 * One gateway per store file: `<db>.lock`, next to the SQLite file, names the gateway that serves it
 * (`{"pid":…,"host":…,"startedAt":…}`). Two gateways on one file would each believe they own the
 * registrations, and stopping one would de-register the identity the other still serves.
 *
 * Why not a library: `proper-lockfile` (the well-kept npm choice) detects a stale lock by its mtime,
 * which the holder must refresh on a timer; it cannot say which process holds the lock, and a busy
 * event loop (a blocked SQLite write) can make a live holder look stale. Here the question is
 * "is that process alive on this host", which `process.kill(pid, 0)` answers exactly, so the lock is
 * a file created atomically (written under a temporary name, then `link(2)`ed into place, which
 * fails with EEXIST if it exists) plus that check. SQLite's own locks cannot serve: they are held per
 * transaction, not for the life of a process, and the admin commands (`devices list/show`, read-only,
 * no lock taken) must keep working while a gateway runs.
 *
 * Stale locks: a holder on this host whose PID is not alive (SIGKILL, crash, power loss) — or whose
 * PID is our own, reused after a restart in a container — is taken over, with a warn. A holder on
 * another host (a shared file system) cannot be checked and is never taken over: remove the file by
 * hand once that gateway is gone. Not guaranteed: two gateways started within the same instant over
 * one stale lock may both take it over; the lock is released only by the process that holds it.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@msgin5g/core';

/** What a lock file says about its holder. `startedAt` is an ISO 8601 time. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** The store is held by another live gateway (or one on another host). `holder` is from its lock file. */
export class StoreInUseError extends Error {
  override readonly name = 'StoreInUseError';
  constructor(
    readonly storePath: string,
    readonly holder: LockHolder,
  ) {
    super(`the store ${storePath} is in use by another gateway (pid ${holder.pid}${holder.host === hostname() ? '' : ` on host ${holder.host}`}, started ${holder.startedAt}); stop it first, or remove ${storePath}.lock if that gateway is gone`);
  }
}

/** A held lock; `release()` removes the file if it is still ours. Idempotent, never throws. */
export interface StoreLock {
  /** Absolute path of the lock file. */
  readonly path: string;
  release(): void;
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    return Number.isInteger(h.pid) && typeof h.host === 'string' && typeof h.startedAt === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** `mkdir -p` one level at a time, at most 256 levels (see the store's makeParentDirectories). */
function makeParentDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; missing.length < 256 && !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

/**
 * Takes the lock of the SQLite store at `storePath` (relative to the working directory), creating
 * its folder if needed.
 * @throws StoreInUseError when a live gateway on this host, or any gateway on another host, holds it.
 * @throws Error (errno) when the lock file cannot be created or read (permissions, read-only file system).
 */
export function acquireStoreLock(storePath: string, logger: Logger): StoreLock {
  const store = resolve(storePath);
  const path = `${store}.lock`;
  const mine: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const content = `${JSON.stringify(mine)}\n`;
  makeParentDirectories(dirname(path));
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o644 });
  try {
    // Bounded: one take-over of a stale lock, then one more try.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temporary, path);
        return {
          path,
          release: () => {
            try {
              if (readFileSync(path, 'utf8') === content) unlinkSync(path);
            } catch {
              // Already gone: nothing to release.
            }
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(path);
      const stale = holder === undefined || (holder.host === mine.host && (holder.pid === process.pid || !isAlive(holder.pid)));
      if (!stale) throw new StoreInUseError(store, holder);
      logger.warn({ lock: path, holder: holder ?? 'unreadable' }, 'taking over a stale store lock: its gateway is no longer running');
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw new Error(`cannot take the store lock ${path}: it keeps changing (another gateway starting?)`);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing to clean up.
    }
  }
}
