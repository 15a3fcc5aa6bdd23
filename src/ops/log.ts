// Structured log lines: JSON (one object per line, for log pipelines; the
// image's default) or text (for a terminal). Every line written while a
// request is handled carries its request id.
//
// A small module rather than a logging library: all we need is a level check
// and one write per line, and this runs unchanged on Node, Bun and Deno.

import { currentRequest } from "./request-scope.js";

export const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = (typeof LEVELS)[number];
export const FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof FORMATS)[number];
export type Fields = Record<string, unknown>;

/** Calling the logger itself logs at info, so `log("message")` reads naturally. */
export interface Logger {
  (message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Whether lines at `level` are written: for callers that would otherwise build fields for nothing. */
  enabled(level: Level): boolean;
}

export interface LoggerOptions {
  level: Level;
  format: LogFormat;
  /** Where a finished line goes; stdout by default. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger({ level, format, write = (line) => console.log(line), now = () => new Date() }: LoggerOptions): Logger {
  const threshold = LEVELS.indexOf(level);
  const emit = (lvl: Level, message: string, fields: Fields = {}) => {
    if (LEVELS.indexOf(lvl) < threshold) return;
    const id = currentRequest()?.id;
    const record: Fields = { time: now().toISOString(), level: lvl, msg: message, ...(id ? { request_id: id } : {}), ...fields };
    write(format === "json" ? JSON.stringify(record, jsonSafe) : textLine(record));
  };
  const log = ((message: string, fields?: Fields) => emit("info", message, fields)) as Logger;
  for (const lvl of LEVELS) log[lvl] = (message, fields) => emit(lvl, message, fields);
  log.enabled = (lvl) => LEVELS.indexOf(lvl) >= threshold;
  return log;
}

/** `2026-05-01T10:00:00.000Z INFO  message key=value key="a value"` */
export function textLine({ time, level, msg, ...fields }: Fields): string {
  const pairs = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${textValue(v)}`);
  return [`${time} ${String(level).toUpperCase().padEnd(5)} ${msg}`, ...pairs].join(" ");
}

function textValue(v: unknown): string {
  const s = typeof v === "string" ? v : Array.isArray(v) ? v.join(",") : JSON.stringify(v, jsonSafe);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.stack ?? value.message;
  if (typeof value === "bigint") return Number(value);
  return value;
}

/** A logger that drops everything; for unit tests and tools. */
export const silentLogger: Logger = createLogger({ level: "error", format: "text", write: () => {} });
