export function findPostgres(): string | undefined;
export function startPostgresServer(options?: { settings?: Record<string, string | number> }): Promise<{ port: number; url: string; stop(): Promise<void> }>;
