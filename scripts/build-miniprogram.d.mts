// Types of scripts/build-miniprogram.mjs, for the tests that build it in memory.
/** miniprogram_dist/ (absolute path). */
export declare const outdir: string;
/** Output path (without .js) → source file. */
export declare const entries: Record<string, string>;
/** esbuild target of the build. */
export declare const target: string;
/** Build miniprogram_dist/; with `write: false`, nothing is written and `text` holds each file. */
export declare function buildMiniProgram(options?: { write?: boolean }): Promise<Array<{ path: string; text: string | undefined }>>;
