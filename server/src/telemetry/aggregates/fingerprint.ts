import { createHash } from 'node:crypto';

/**
 * The message of an error with what varies between occurrences replaced: quoted strings → `"…"`,
 * UUIDs → `<uuid>`, hex ids (0x… or 8+ hex digits with a digit) → `<hex>`, numbers → `<n>`;
 * whitespace collapsed, at most 500 characters.
 */
export function normaliseMessage(message: string): string {
  return message
    .slice(0, 2000)
    .replace(/"[^"\n]{0,500}"|'[^'\n]{0,500}'|`[^`\n]{0,500}`/g, '"…"')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
}

/**
 * The top frame of a stack, `file:line` (column dropped, query string dropped), from the V8
 * (`at f (file:1:2)`) or Firefox/Safari (`f@file:1:2`) formats; `''` when none is found.
 */
export function topFrame(stack: unknown): string {
  if (typeof stack !== 'string') return '';
  for (const line of stack.slice(0, 4000).split('\n', 50)) {
    const m = /(?:\(|@|at )((?:[a-z][\w+.-]*:\/\/)?[^\s()@]+?):(\d+)(?::\d+)?\)?\s*$/i.exec(line.trim());
    if (m) return `${m[1]!.replace(/[?#].*$/, '')}:${m[2]}`;
  }
  return '';
}

/** The error's fingerprint: the first 16 hex digits of sha256(normalised message, top frame). */
export function fingerprint(message: string, frame: string): string {
  return createHash('sha256').update(message).update('\u0000').update(frame).digest('hex').slice(0, 16);
}
