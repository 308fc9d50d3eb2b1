/** One in-place edit, kept in `messages.metadata.edits`, oldest first. */
export interface MessageEdit {
  at: Date;
  previousContent: string;
}

/**
 * Reads the edit history out of a message's metadata. The jsonb is written
 * only by editMessage, but it is still data from storage: anything that is not
 * a well-formed entry is skipped rather than trusted.
 */
export function readEdits(metadata: Record<string, unknown> | null | undefined): MessageEdit[] {
  const raw = metadata?.edits;
  if (!Array.isArray(raw)) return [];
  const edits: MessageEdit[] = [];
  for (const entry of raw) {
    const e = entry as { at?: unknown; previousContent?: unknown } | null;
    if (!e || typeof e.at !== 'string' || typeof e.previousContent !== 'string') continue;
    const at = new Date(e.at);
    if (!Number.isNaN(at.getTime())) edits.push({ at, previousContent: e.previousContent });
  }
  return edits;
}
