import type { Logger } from '../ports/logger';

/** One recorded log call. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A `Logger` that keeps every call, for tests that check something was logged rather than thrown. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'debug', fields, message });
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  /** Whether a line with exactly this message was logged. */
  has(message: string): boolean {
    return this.lines.some((l) => l.message === message);
  }
  /** The messages logged, at one level or all. */
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}
