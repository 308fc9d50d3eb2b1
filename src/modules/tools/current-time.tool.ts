import type { ToolDefinition } from './tool.types';

/** Arguments for the current-time tool; the timezone defaults to UTC. */
export interface CurrentTimeArgs {
  timezone?: string;
}

/** What the model gets: an ISO timestamp with the zone's offset, and a readable form. */
export interface CurrentTimeResult {
  iso: string;
  timezone: string;
  formatted: string;
}

/** Local wall-clock ISO 8601 with offset, e.g. `2025-03-01T14:05:09+01:00`. */
function isoInZone(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  // longOffset is "GMT+01:00"; a zero offset is "GMT" or "GMT+00:00" depending on the ICU build.
  const raw = String(parts.timeZoneName).replace('GMT', '');
  const offset = raw === '' || raw === '+00:00' ? 'Z' : raw;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/**
 * Models do not know the date. The clock is injectable so tests are
 * deterministic; results are never cached because time moves.
 */
export function createCurrentTimeTool(now: () => Date = () => new Date()): ToolDefinition<CurrentTimeArgs> {
  return {
    name: 'current_time',
    description: 'Get the current date and time, optionally in an IANA timezone such as "Europe/Paris".',
    parameters: {
      type: 'object',
      properties: {
        timezone: {
          type: 'string',
          minLength: 1,
          maxLength: 100,
          description: 'IANA timezone name, e.g. "America/New_York". Defaults to UTC.',
        },
      },
      additionalProperties: false,
    },
    async execute({ timezone = 'UTC' }): Promise<CurrentTimeResult> {
      let formatter: Intl.DateTimeFormat;
      try {
        formatter = new Intl.DateTimeFormat('en-US', { timeZone: timezone, dateStyle: 'full', timeStyle: 'long' });
      } catch {
        throw new Error(`unknown timezone "${timezone}"; use an IANA name such as "Europe/Paris"`);
      }
      const date = now();
      const resolved = formatter.resolvedOptions().timeZone;
      return { iso: isoInZone(date, resolved), timezone: resolved, formatted: formatter.format(date) };
    },
  };
}
