/**
 * Every TypeScript / TSX / JavaScript code sample in README.md, server/README.md and docs/*.md is
 * type-checked against the packages' published declarations (dist/ and server/dist, resolved
 * through their package.json `exports`, as an app resolves them), one test per sample, named by
 * file and line. ```json samples must parse. The convention (HTML comments before a fence) is
 * described in docs/api-index.md, "Code samples in the docs"; PRELUDES below are the named preludes.
 *
 * Needs `npm run build` (`npm test` runs it first).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Named preludes, put before a sample by `<!-- sample: prelude NAME -->`: declarations of what the
 * sample takes from the code around it. Types only (`import('…')` types, `declare`), so a sample's
 * own imports never clash with them.
 */
const PRELUDES: Record<string, { ts?: string; js?: string }> = {
  /** A realtime client created earlier (README "Client", docs/flags.md). */
  client: { ts: `declare const client: import('sdk-realtime').RealtimeClient;` },
  /** What a page passes to createClient: the server URL and a token source. */
  connection: {
    ts: `declare const url: string;\ndeclare const token: () => Promise<string>;`,
    js: `const url = 'wss://rt.example.com/ws';\nconst token = async () => 'jwt';`,
  },
  /** The server's secrets, as in `createServer({ jwtSecret, apiKey })`. */
  secrets: { ts: `declare const jwtSecret: string;\ndeclare const apiKey: string;` },
  /** The flags store of docs/flags.md. */
  flags: { ts: `declare const flags: import('sdk-realtime/flags').Flags;` },
  /** A React root and the app component. */
  'react-root': { ts: `declare const root: import('react-dom/client').Root;\ndeclare function App(): import('react').ReactNode;` },
  /** A Vue root component and app. */
  'vue-app': { ts: `declare const App: import('vue').Component;\ndeclare const app: import('vue').App;` },
  /** The mini-program globals, typed loosely (the adapter's options declare the API shape they need). */
  wechat: { js: `/** @type {any} */\nconst wx = globalThis;\n/** @param {any} options */\nfunction App(options) {}` },
};

interface Sample {
  file: string; // relative to the repo root
  line: number; // 1-based line of the opening fence
  lang: string;
  code: string; // the fence's content, indentation removed
  skip?: string; // the reason
  preludes: string[];
  hidden: string; // hidden code from the comment
}

/** A line that starts a directive comment (one in running text, e.g. in backticks, is not one). */
const DIRECTIVE = /^\s*<!--\s*sample:/;

const CHECKED = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'jsx', 'vue', 'json']);

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', 'server/README.md', ...docs];
}

/** Fenced blocks with a checked language, and the `<!-- sample: … -->` comment before each. */
function extract(file: string): { samples: Sample[]; problems: string[] } {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const samples: Sample[] = [];
  const problems: string[] = [];
  const used = new Set<number>(); // line indexes of directive comments that precede a fence
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[end]!)) end++;
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    const lang = info.toLowerCase();
    // The directive: an HTML comment ending on the line before the fence (blank lines allowed).
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === '') j--;
    let directive: string[] | undefined;
    let directiveLine = 0;
    if (j >= 0 && lines[j]!.trim().endsWith('-->')) {
      let k = j;
      while (k >= 0 && !lines[k]!.includes('<!--')) k--;
      if (k >= 0 && DIRECTIVE.test(lines[k]!)) {
        used.add(k);
        directiveLine = k + 1;
        const text = lines.slice(k, j + 1).join('\n');
        directive = text
          .replace(/^\s*<!--\s*sample:/, '')
          .replace(/-->\s*$/, '')
          .split('\n');
      }
    }
    if (CHECKED.has(lang)) {
      const sample: Sample = { file, line: i + 1, lang, code: body.join('\n'), preludes: [], hidden: '' };
      if (directive) {
        const head = directive[0]!.trim();
        sample.hidden = directive.slice(1).join('\n');
        const skip = /^skip\s*\((.+)\)$/.exec(head);
        const prelude = /^prelude\s+([\w-]+(?:\s*,\s*[\w-]+)*)$/.exec(head);
        if (skip) sample.skip = skip[1]!;
        else if (prelude) sample.preludes = prelude[1]!.split(/\s*,\s*/);
        else if (head !== '' && head !== 'check') problems.push(`${file}:${directiveLine}: unknown sample directive "${head}"`);
        for (const p of sample.preludes) if (!(p in PRELUDES)) problems.push(`${file}:${i + 1}: unknown prelude "${p}"`);
      }
      samples.push(sample);
    } else if (directive) {
      problems.push(`${file}:${i + 1}: a sample directive before a \`\`\`${lang || '(no language)'} fence, which is not checked`);
    }
    i = end;
  }
  lines.forEach((l, n) => {
    if (DIRECTIVE.test(l) && !used.has(n)) problems.push(`${file}:${n + 1}: sample directive not followed by a fence`);
  });
  return { samples, problems };
}

const extracted = markdownFiles().map(extract);
const samples = extracted.flatMap((e) => e.samples);
const problems = extracted.flatMap((e) => e.problems);
const typed = samples.filter((s) => s.lang !== 'json' && !s.skip);

interface Virtual {
  sample: Sample;
  path: string;
  text: string;
  bodyLine: number; // line (0-based) of `text` where the markdown line `sample.line + 1 + firstLine` is
  firstLine: number; // line of the fence body that `bodyLine` holds (a vue sample's script starts later)
}

function virtualFile(sample: Sample): Virtual {
  let body = sample.code;
  let firstLine = 0;
  let ext = { ts: 'ts', typescript: 'ts', tsx: 'tsx', js: 'js', javascript: 'js', jsx: 'jsx' }[sample.lang] ?? 'ts';
  if (sample.lang === 'vue') {
    // Only the `<script setup lang="ts">` block: the template is not checked.
    const all = sample.code.split('\n');
    const start = all.findIndex((l) => /<script\b[^>]*\bsetup\b[^>]*\blang="ts"/.test(l));
    const stop = all.findIndex((l, n) => n > start && /<\/script>/.test(l));
    if (start < 0 || stop < 0) problems.push(`${sample.file}:${sample.line}: a vue sample without <script setup lang="ts"> (skip it, or add one)`);
    body = all.slice(start + 1, stop).join('\n');
    firstLine = start + 1;
    ext = 'ts';
  }
  const js = ext === 'js' || ext === 'jsx';
  const preludes = sample.preludes.map((p) => {
    const prelude = PRELUDES[p];
    const code = js ? prelude?.js : prelude?.ts;
    if (prelude && code === undefined) problems.push(`${sample.file}:${sample.line}: prelude "${p}" has no ${js ? 'JavaScript' : 'TypeScript'} version`);
    return code ?? ''; // an unknown prelude is reported by extract()
  });
  const head = [...preludes, sample.hidden].filter((s) => s.trim() !== '').join('\n');
  const headLines = head === '' ? 0 : head.split('\n').length;
  const name = `${sample.file.replace(/[/.]/g, '_')}_L${sample.line}.${ext}`;
  return {
    sample,
    path: join(root, `__docs_sample__${name}`).replace(/\\/g, '/'),
    text: `${head}${head === '' ? '' : '\n'}${body}\nexport {};\n`,
    bodyLine: headLines,
    firstLine,
  };
}

const virtuals = new Map(typed.map((s) => [`${s.file}:${s.line}`, virtualFile(s)]));

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  module: ts.ModuleKind.Preserve, // `import` and `require` (mini-program samples) in one program
  moduleResolution: ts.ModuleResolutionKind.Bundler, // through the packages' `exports`, as apps do
  moduleDetection: ts.ModuleDetectionKind.Force, // each sample is its own module
  types: ['node'],
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  allowJs: true,
  checkJs: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

let program: ts.Program;

function format(v: Virtual, d: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return `TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  if (d.file.fileName !== v.path) return `${relative(root, d.file.fileName)}:${line + 1}: TS${d.code}: ${message}`;
  const where =
    line < v.bodyLine
      ? `${v.sample.file}:${v.sample.line} (in its prelude/hidden code, line ${line + 1})`
      : `${v.sample.file}:${v.sample.line + 1 + v.firstLine + line - v.bodyLine}:${character + 1}`;
  return `${where}: TS${d.code}: ${message}`;
}

describe('docs code samples', () => {
  beforeAll(() => {
    for (const dir of ['dist', 'server/dist']) {
      if (!existsSync(join(root, dir, 'index.d.ts'))) throw new Error(`${dir}/index.d.ts is missing: run \`npm run build\` first`);
    }
    const byPath = new Map([...virtuals.values()].map((v) => [v.path, v]));
    const host = ts.createCompilerHost(options, true);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => byPath.has(f) || fileExists.call(host, f);
    host.readFile = (f) => byPath.get(f)?.text ?? readFile.call(host, f);
    host.getSourceFile = (f, language, ...rest) => {
      const v = byPath.get(f);
      return v ? ts.createSourceFile(f, v.text, language, true) : getSourceFile.call(host, f, language, ...rest);
    };
    host.getCurrentDirectory = () => root;
    program = ts.createProgram({ rootNames: [...byPath.keys()], options, host });
    const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    expect(global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
    // The samples compile against the built declarations, never the sources.
    const files = program.getSourceFiles().map((f) => relative(root, f.fileName).replace(/\\/g, '/'));
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('server/dist/index.d.ts');
    expect(files.filter((f) => /^(server\/)?src\//.test(f))).toEqual([]);
  }, 60_000);

  it('every sample directive is well-formed and precedes a checked fence', () => {
    expect(problems).toEqual([]);
    expect(typed.length).toBeGreaterThan(20); // the extraction found the samples
  });

  for (const s of samples) {
    const name = `${s.file}:${s.line} (${s.lang})`;
    if (s.skip) {
      it.skip(`${name}: ${s.skip}`, () => {});
    } else if (s.lang === 'json') {
      it(name, () => {
        expect(() => JSON.parse(s.code), `${name} is not valid JSON`).not.toThrow();
      });
    } else {
      it(name, () => {
        const v = virtuals.get(`${s.file}:${s.line}`)!;
        const sf = program.getSourceFile(v.path)!;
        const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
        expect(diagnostics.map((d) => format(v, d))).toEqual([]);
      });
    }
  }
});
