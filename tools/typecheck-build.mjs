// CI's type-check and build in one TypeScript program: `tsc -p tsconfig.json` (src, test,
// sample, bench: what `npm run typecheck` checks) emits into .tmp/tsc/, and src's output,
// specs left out, becomes dist/ as `npm run build` (tsconfig.build.json) writes it: the same
// .js, .d.ts (stripInternal) and source maps (their `sources` rewritten from
// .tmp/tsc/src/ to dist/). One program instead of two saves CI a whole type-check.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, '.tmp', 'tsc');
const dist = join(root, 'dist');
rmSync(out, { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', out, '--stripInternal'], {
  cwd: root,
  stdio: 'inherit',
});

rmSync(dist, { recursive: true, force: true });
const isSpec = (name) => /\.spec\.(js|d\.ts|js\.map)$/.test(name);
cpSync(join(out, 'src'), dist, { recursive: true, filter: (path) => !isSpec(path) });
// A map's `sources` are relative to it: one level deeper in .tmp/tsc/src than in dist.
const fromOut = relative(join(out, 'src'), join(root, 'src'));
const fromDist = relative(dist, join(root, 'src'));
for (const entry of readdirSync(dist, { recursive: true })) {
  if (!String(entry).endsWith('.js.map')) continue;
  const file = join(dist, String(entry));
  const map = JSON.parse(readFileSync(file, 'utf8'));
  map.sources = map.sources.map((source) => source.replace(`${fromOut}/`, `${fromDist}/`));
  writeFileSync(file, JSON.stringify(map));
}
console.log(`typecheck and build: one program; dist/ written from ${relative(root, out)}/src`);
