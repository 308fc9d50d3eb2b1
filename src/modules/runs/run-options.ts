/** A tool the client executes itself; the run pauses in REQUIRES_ACTION when the model calls it. */
export interface ClientToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Execution options frozen on the run row when it is created, so a resumed run behaves the same. */
export interface RunOptions {
  temperature?: number;
  maxTokens?: number;
  maxSteps?: number;
  /** Server tools the model may call; defaults to the agent's tools. */
  tools?: string[];
  clientTools?: ClientToolSpec[];
}
