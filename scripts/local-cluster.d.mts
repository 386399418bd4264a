// Types of scripts/local-cluster.mjs, for the tests.
import type { ChildProcess } from 'node:child_process';

export declare function freePort(): Promise<number>;
export declare function startRedisServer(options?: { port?: number; dir?: string; dbfilename?: string; bin?: string }): Promise<{
  port: number;
  url: string;
  process: ChildProcess;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
}>;
export declare function startBalancer(ports: () => number[], port?: number): Promise<{ port: number; url: string; close(): Promise<void> }>;
