#!/usr/bin/env node
// Checks every published package the way a user receives it: `npm pack`s it into a temp dir and
// lints the tarball (publint --strict, Are the Types Wrong), imports each CommonJS entry for its
// named exports, resolves `#load-ws` for both module kinds, lists the tarball's files (each must be
// reachable from package.json or be documentation), checks the links of every packed .md file,
// checks the source maps, and proves that `changeset version` writes each package's CHANGELOG.md
// (on a throwaway copy of the repository). It also builds the API reference (typedoc, warnings are
// errors). Run after `npm run build`: `npm run check:packages`. Exits 1 on any finding.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The published packages, by directory. */
const PACKAGES = ['.', 'server'];
const require = createRequire(import.meta.url);
const attwBin = join(dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist/index.js');
const changesetBin = join(dirname(require.resolve('@changesets/cli/package.json')), 'bin.js');
const npm = process.platform == 'win32' ? 'npm.cmd' : 'npm';

/**
 * Are the Types Wrong rules we turn off, each with the reason. None today: every entry point
 * resolves in node10 (typesVersions), node16 from CJS and ESM, and bundler mode.
 * Example: `{ rule: 'cjs-resolves-to-esm', why: '…' }`.
 */
const ATTW_IGNORED_RULES = [];

const findings = [];
const fail = (pkg, message) => findings.push(`${pkg}: ${message}`);
const step = (message) => console.log(`\n▶ ${message}`);

const work = mkdtempSync(join(tmpdir(), 'sdk-realtime-check-packages-'));
// One app directory where every packed package is installed side by side (the server resolves
// `sdk-realtime/protocol` to the packed client), with the repository's copies of their
// dependencies and peers linked in.
const app = join(work, 'app');
mkdirSync(join(app, 'node_modules'), { recursive: true });
writeFileSync(join(app, 'package.json'), '{ "name": "check-packages-app", "private": true, "type": "module" }\n');

try {
  step('API reference (typedoc, warnings are errors)');
  if (spawnSync(npm, ['run', '--silent', 'docs:api'], { cwd: root, stdio: 'inherit' }).status !== 0) fail('typedoc', 'npm run docs:api failed (see above)');

  const packed = PACKAGES.map(pack);
  for (const p of packed) linkDependencies(p);
  for (const p of packed) {
    step(`${p.name}: ${p.files.length} files in ${relative(work, p.tarball)}`);
    await lintPublint(p);
    lintAttw(p);
    await checkCjsNamedExports(p);
    checkLoadWs(p);
    checkReachable(p);
    checkSourceMaps(p);
    checkMarkdownLinks(p);
  }
  step('changeset version writes a CHANGELOG.md per package (throwaway copy of the repository)');
  checkChangelogs(packed);
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (findings.length) {
  console.error(`\ncheck-packages: ${findings.length} finding(s):`);
  for (const f of findings) console.error(`  ✗ ${f}`);
  process.exit(1);
}
console.log('\ncheck-packages: every package is clean.');

/** `npm pack` one package into the work dir and unpack it into the app's node_modules. */
function pack(dir) {
  const cwd = join(root, dir);
  const [info] = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd, encoding: 'utf8' }));
  const tarball = join(work, info.filename);
  const pkgDir = join(app, 'node_modules', info.name);
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '--strip-components=1', '-C', pkgDir]);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  return { name: info.name, dir, tarball, pkgDir, manifest, files: info.files.map((f) => f.path).sort() };
}

/** Link the dependencies and peers the packed packages need from the repository's node_modules. */
function linkDependencies(p) {
  const names = Object.keys({ ...p.manifest.dependencies, ...p.manifest.peerDependencies });
  for (const name of names) {
    const target = join(app, 'node_modules', name);
    if (existsSync(target)) continue;
    const source = join(root, 'node_modules', name);
    if (!existsSync(source)) {
      fail(p.name, `dependency ${name} is not installed in the repository (npm ci)`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target, 'dir');
  }
}

async function lintPublint(p) {
  const { messages, pkg } = await publint({ pack: { tarball: readFileSync(p.tarball) }, strict: true, level: 'suggestion' });
  // Suggestions fail too: each one is either fixed in package.json or justified here.
  for (const m of messages) fail(p.name, `publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false })}`);
  console.log(messages.length ? `  publint: ${messages.length} message(s)` : '  publint --strict: no messages');
}

function lintAttw(p) {
  const ignore = ATTW_IGNORED_RULES.length ? ['--ignore-rules', ...ATTW_IGNORED_RULES.map((r) => r.rule)] : [];
  // --no-definitely-typed: every package ships its own types; never look up @types on the registry.
  const args = [attwBin, p.tarball, '--no-definitely-typed', '--profile', 'strict', '--format', 'table-flipped', '--no-color', ...ignore];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (run.status !== 0) {
    process.stdout.write(run.stdout + run.stderr);
    fail(p.name, 'attw found problems (table above)');
  } else console.log('  attw (strict: node10, node16 CJS/ESM, bundler): no problems');
}

/** Every string leaf under a package.json field, with its condition path. */
function leaves(value, path = []) {
  if (typeof value == 'string') return [{ path, file: value }];
  if (Array.isArray(value)) return value.flatMap((v) => leaves(v, path));
  if (value && typeof value == 'object') return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [];
}
function norm(file) {
  return posix.normalize(file.replace(/^\.\//, ''));
}

/**
 * `import()` of each CommonJS entry must expose the same named exports as its ES module: Node finds
 * them only through esbuild's `0 && (module.exports = {…})` annotation (platform node in tsup).
 */
async function checkCjsNamedExports(p) {
  let checked = 0;
  for (const [subpath, target] of Object.entries(p.manifest.exports ?? {})) {
    if (typeof target != 'object') continue;
    const esm = leaves(target.import).find((l) => l.path.at(-1) == 'default')?.file;
    const cjs = leaves(target.require).find((l) => l.path.at(-1) == 'default')?.file;
    if (!esm || !cjs) continue;
    const url = (file) => pathToFileURL(join(p.pkgDir, file)).href;
    try {
      const esmNames = Object.keys(await import(url(esm))).filter((k) => k != 'default');
      const cjsNs = await import(url(cjs));
      const missing = esmNames.filter((k) => !(k in cjsNs));
      if (!esmNames.length) fail(p.name, `${subpath}: the ES module exports nothing`);
      if (missing.length) fail(p.name, `${subpath}: import() of ${cjs} lacks the named exports ${missing.join(', ')} (CJS export annotation missing?)`);
      checked++;
    } catch (error) {
      fail(p.name, `${subpath}: importing ${esm} / ${cjs} threw: ${error?.message ?? error}`);
    }
  }
  console.log(`  import() of ${checked} CommonJS entr${checked == 1 ? 'y' : 'ies'}: named exports match the ES modules`);
}

/**
 * The `imports` map: each `#name` must resolve, for `import` and for `require`, to a file whose
 * declarations TypeScript (node16) finds next to it with the matching module kind (.js ↔ .d.ts,
 * .cjs ↔ .d.cts); without the `node` condition (bundlers for the browser), to the browser file.
 */
function checkLoadWs(p) {
  const imports = Object.keys(p.manifest.imports ?? {});
  for (const specifier of imports) {
    const fromEsm = join(p.pkgDir, 'dist/index.js');
    const fromCjs = join(p.pkgDir, 'dist/index.cjs');
    const nodeRequire = createRequire(fromCjs).resolve(specifier);
    const nodeImport = fileURLToPath(
      execFileSync(process.execPath, ['--input-type=module', '-e', `process.stdout.write(import.meta.resolve(${JSON.stringify(specifier)}))`], { cwd: p.pkgDir, encoding: 'utf8' }),
    );
    const decl = (js) => js.replace(/\.cjs$/, '.d.cts').replace(/\.js$/, '.d.ts');
    const tsResolve = (from, mode, moduleResolution, conditions) =>
      ts.resolveModuleName(specifier, from, { module: moduleResolution == ts.ModuleResolutionKind.Bundler ? ts.ModuleKind.ESNext : ts.ModuleKind.Node16, moduleResolution, customConditions: conditions }, ts.sys, undefined, undefined, mode)
        .resolvedModule?.resolvedFileName;
    const cases = [
      ['node16, import', tsResolve(fromEsm, ts.ModuleKind.ESNext, ts.ModuleResolutionKind.Node16), decl(nodeImport)],
      ['node16, require', tsResolve(fromCjs, ts.ModuleKind.CommonJS, ts.ModuleResolutionKind.Node16), decl(nodeRequire)],
    ];
    const browser = leaves(p.manifest.imports[specifier].default).find((l) => !l.path.includes('types') && !l.path.includes('require'))?.file;
    if (browser) cases.push(['bundler (no node condition), import', tsResolve(fromEsm, ts.ModuleKind.ESNext, ts.ModuleResolutionKind.Bundler), decl(join(p.pkgDir, browser))]);
    for (const [what, got, want] of cases) {
      if (got != want) fail(p.name, `${specifier} (${what}): TypeScript resolves the types to ${got && relative(p.pkgDir, got)}, the code is next to ${relative(p.pkgDir, want)}`);
    }
    if (!nodeImport.endsWith('.js') || !nodeRequire.endsWith('.cjs')) fail(p.name, `${specifier}: Node resolves import → ${nodeImport}, require → ${nodeRequire}`);
    console.log(`  ${specifier}: Node import → ${relative(p.pkgDir, nodeImport)}, require → ${relative(p.pkgDir, nodeRequire)}; types match for each${browser ? `; browser → ${browser}` : ''}`);
  }
}

/** A mini-program build is a folder: WeChat's npm packer copies all of `miniprogram`, as built. */
function bundledFolders(m) {
  return typeof m.miniprogram == 'string' ? [norm(m.miniprogram).replace(/\/?$/, '/')] : [];
}

/**
 * Every file in the tarball must be reachable from package.json (main, module, types, exports,
 * imports, bin, typesVersions, miniprogram), through the relative imports of those files (shared
 * declaration chunks) and their source maps; or be documentation (README, LICENSE, CHANGELOG,
 * docs/*.md).
 */
function checkReachable(p) {
  const m = p.manifest;
  const files = new Set(p.files);
  const roots = [m.main, m.module, m.types, m.typings, m.browser, m.exports, m.imports, m.bin, m.typesVersions].flatMap((v) => leaves(v)).map((l) => norm(l.file));
  const folders = bundledFolders(m);
  const reached = new Set();
  const queue = [...roots.filter((f) => f != 'package.json')];
  while (queue.length) {
    const file = queue.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    if (!files.has(file)) {
      fail(p.name, `package.json references ${file}, which is not in the tarball`);
      continue;
    }
    const text = readFileSync(join(p.pkgDir, file), 'utf8');
    const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (map) queue.push(posix.join(posix.dirname(file), map));
    if (!/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(file)) continue;
    const isDecl = /\.d\.(c|m)?ts$/.test(file);
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      let target = posix.join(posix.dirname(file), spec);
      if (isDecl) target = target.replace(/\.cjs$/, '.d.cts').replace(/\.mjs$/, '.d.mts').replace(/\.js$/, '.d.ts');
      queue.push(target);
    }
  }
  const isDoc = (f) => f == 'package.json' || /^(README|LICENSE|CHANGELOG)(\.md)?$/i.test(f) || /^docs\/.+\.md$/.test(f);
  const stray = p.files.filter((f) => !reached.has(f) && !isDoc(f) && !folders.some((d) => f.startsWith(d)));
  for (const f of stray) fail(p.name, `${f} is in the tarball but nothing references it (not an entry, chunk, map or doc)`);
  for (const f of ['README.md', 'LICENSE', 'package.json']) if (!files.has(f)) fail(p.name, `${f} is missing from the tarball`);
  if (!m.files?.includes('CHANGELOG.md')) fail(p.name, 'package.json `files` must list CHANGELOG.md (written by `changeset version`)');
  for (const field of ['license', 'author', 'homepage', 'keywords']) if (!m[field] || (Array.isArray(m[field]) && !m[field].length)) fail(p.name, `package.json has no ${field}`);
  if (!m.bugs?.url) fail(p.name, 'package.json has no bugs.url');
  if (!m.repository?.url) fail(p.name, 'package.json has no repository.url');
  if (p.dir != '.' && m.repository?.directory != p.dir) fail(p.name, `package.json repository.directory should be "${p.dir}"`);
  console.log(`  files: ${p.files.length}, every one reachable from package.json or documentation${stray.length ? ` (except ${stray.length})` : ''}`);
}

/**
 * Source maps are shipped for stack traces, without embedded sources (`sourcesContent: false` in
 * both tsup configs; docs/packaging.md "What ships"): each map must parse and carry no `sourcesContent`.
 */
function checkSourceMaps(p) {
  const maps = p.files.filter((f) => f.endsWith('.map'));
  for (const f of maps) {
    let map;
    try {
      map = JSON.parse(readFileSync(join(p.pkgDir, f), 'utf8'));
    } catch (error) {
      fail(p.name, `${f} is not JSON: ${error.message}`);
      continue;
    }
    if (map.sourcesContent?.some((s) => s != null)) fail(p.name, `${f} embeds its sources (sourcesContent): the package ships maps without sources`);
    if (!map.sources?.length) fail(p.name, `${f} names no sources`);
  }
  const folders = bundledFolders(p.manifest);
  const code = p.files.filter((f) => /\.(c|m)?js$/.test(f) && !folders.some((d) => f.startsWith(d)));
  for (const f of code) if (!p.files.includes(`${f}.map`)) fail(p.name, `${f} has no source map`);
  console.log(`  source maps: ${maps.length} for ${code.length} JavaScript files, none embeds sources`);
}

/** GitHub's anchor for a heading. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]|<[^>]+>/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * Links in every packed .md file point to a file in the same tarball (and an existing heading) or
 * to an absolute URL: the package is read on npm and in node_modules, without the repository.
 */
function checkMarkdownLinks(p) {
  const mds = p.files.filter((f) => f.endsWith('.md'));
  const files = new Set(p.files);
  const anchors = new Map();
  const read = (f) => readFileSync(join(p.pkgDir, f), 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
  const anchorsOf = (f) => {
    if (!anchors.has(f)) anchors.set(f, new Set([...read(f).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map(([, h]) => slug(h))));
    return anchors.get(f);
  };
  const repoWeb = p.manifest.repository?.url?.replace(/^git\+/, '').replace(/\.git$/, '');
  let count = 0;
  for (const md of mds) {
    const text = read(md).replace(/`[^`\n]*`/g, '');
    const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^)]*["'])?\s*\)/g), ...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((x) => x[1]);
    for (const target of targets) {
      count++;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        if (!/^(https?|mailto):/i.test(target)) fail(p.name, `${md}: link ${target} is not an http(s) or mailto URL`);
        // A link into this repository (the way docs reach examples/ and the other package) must
        // name a path that exists on the branch.
        const inRepo = repoWeb && target.startsWith(`${repoWeb}/`) && /^\/(?:blob|tree)\/[^/]+\/([^#?]+)/.exec(target.slice(repoWeb.length));
        if (inRepo && !existsSync(join(root, decodeURI(inRepo[1])))) fail(p.name, `${md}: link ${target} names ${inRepo[1]}, which is not in the repository`);
        continue;
      }
      const [path, anchor] = target.split('#');
      const file = path ? posix.normalize(posix.join(posix.dirname(md), decodeURI(path))) : md;
      if (file.startsWith('..')) {
        fail(p.name, `${md}: link ${target} leaves the package (link to the repository URL instead)`);
        continue;
      }
      const isDir = [...files].some((f) => f.startsWith(file.replace(/\/?$/, '/')));
      if (!files.has(file) && !isDir) {
        fail(p.name, `${md}: link ${target} points to ${file}, which is not in the tarball`);
        continue;
      }
      if (anchor && file.endsWith('.md') && !anchorsOf(file).has(anchor.toLowerCase())) fail(p.name, `${md}: link ${target}: ${file} has no heading #${anchor}`);
    }
  }
  console.log(`  markdown: ${count} links in ${mds.length} files, each to a packed file or an absolute URL`);
}

/**
 * `changeset version` on a throwaway copy of the repository (tracked and new files, with a probe
 * changeset bumping every package) must write CHANGELOG.md for each package, and `npm pack` of the
 * copy must include it.
 */
function checkChangelogs(packed) {
  const copy = join(work, 'repo');
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of listed) if (existsSync(join(root, f))) cpSync(join(root, f), join(copy, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  for (const p of packed) rmSync(join(copy, p.dir, 'CHANGELOG.md'), { force: true });
  const probe = 'check-packages probe: this entry exists only in a throwaway copy.';
  writeFileSync(join(copy, '.changeset', 'zz-check-packages-probe.md'), `---\n${packed.map((p) => `"${p.name}": patch`).join('\n')}\n---\n\n${probe}\n`);
  const run = spawnSync(process.execPath, [changesetBin, 'version'], { cwd: copy, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stdout.write(run.stdout + run.stderr);
    fail('changesets', '`changeset version` failed on the copy');
    return;
  }
  for (const p of packed) {
    const changelog = join(copy, p.dir, 'CHANGELOG.md');
    const { version } = JSON.parse(readFileSync(join(copy, p.dir, 'package.json'), 'utf8'));
    if (!existsSync(changelog)) {
      fail(p.name, '`changeset version` wrote no CHANGELOG.md');
      continue;
    }
    const text = readFileSync(changelog, 'utf8');
    if (!text.includes(`## ${version}`) || !text.includes(probe)) fail(p.name, `CHANGELOG.md written by changesets lacks "## ${version}" or the probe entry`);
    const [info] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json'], { cwd: join(copy, p.dir), encoding: 'utf8' }));
    if (!info.files.some((f) => f.path == 'CHANGELOG.md')) fail(p.name, 'npm pack after `changeset version` does not include CHANGELOG.md');
    else console.log(`  ${p.name}: CHANGELOG.md with ## ${version}, included by npm pack`);
  }
}
