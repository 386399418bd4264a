import type { WireError } from 'sdk-realtime/protocol';

/** A problem answered with a reply error (and, with `close`, then closing the connection). */
export class Refusal {
  constructor(
    readonly error: WireError,
    readonly close?: { code: number; reconnect: boolean },
  ) {}
}

export const wireError = (code: string, message: string): WireError => ({ code, message });
