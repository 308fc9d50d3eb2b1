/** A command that cannot do what was asked: its message is the one line printed, `exitCode` 2 for a usage error. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Results go to stdout: lines for a person, or one JSON document with --json for scripts. */
export interface Output {
  json: boolean;
  result(value: unknown, lines: string[]): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, lines) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : lines.map((l) => `${l}\n`).join(''));
    },
  };
}
