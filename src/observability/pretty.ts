/**
 * A small pino destination for people reading a terminal: one line per entry
 * (time, level, message, then key=value), an error's stack indented below it.
 * JSON stays the format of everything that is not a terminal (files, pipes,
 * log shippers) and of production.
 */
const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

/** Fields every line has, or that the line already shows in its own place. */
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

export function formatPretty(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const [name, code] = LEVELS[entry.level as number] ?? ['LOG  ', '0'];
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(([k, v]) => `${paint('2', `${k}=`)}${typeof v === 'string' ? v : JSON.stringify(v)}`);
  let out = `${paint('2', time)} ${paint(code, name)} ${String(entry.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
  const err = entry.err as { stack?: string; message?: string } | undefined;
  if (err) out += `${(err.stack ?? err.message ?? JSON.stringify(err)).replace(/^/gm, '    ')}\n`;
  return out;
}

export function prettyStream(out: { write(chunk: string): unknown; isTTY?: boolean }): { write(line: string): void } {
  const color = Boolean(out.isTTY) && !process.env.NO_COLOR;
  return { write: (line: string) => void out.write(formatPretty(line, color)) };
}
