// `npm start`'s compile step: swc turns src/ and sample/ into CommonJS under dist-sample/
// without a type-check pass (that is `npm run typecheck`'s job), and only the files changed
// since the last run, so a start costs the sample's boot, not a `tsc` run (40 s on 2 cores).
import { transformFile } from '@swc/core';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist-sample');
const dirs = ['src', 'sample'];

// The test suite's swc options (jest.config.js), written to files with source maps.
const [, suiteOptions] = createRequire(import.meta.url)('../jest.config.js').projects[0].transform[
  '^.+\\.(t|j)s$'
];
const options = {
  ...suiteOptions,
  jsc: { ...suiteOptions.jsc, keepClassNames: true },
  sourceMaps: true,
  swcrc: false,
};

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (/(?<!\.d)(?<!\.spec)\.ts$/.test(entry.name)) yield path;
  }
}

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

const started = performance.now();
const pending = [];
for (const dir of dirs) {
  for (const source of sources(join(root, dir))) {
    const target = join(out, relative(root, source)).replace(/\.ts$/, '.js');
    if (mtime(target) >= mtime(source)) continue;
    pending.push(
      transformFile(source, { ...options, filename: source, outputPath: target }).then(
        ({ code, map }) => {
          mkdirSync(dirname(target), { recursive: true });
          const name = target.slice(dirname(target).length + 1);
          writeFileSync(target, `${code}\n//# sourceMappingURL=${name}.map\n`);
          if (map) writeFileSync(`${target}.map`, map);
        },
      ),
    );
  }
}
// A source that was deleted must not leave a stale module behind that something still loads.
for (const dir of dirs) {
  const built = join(out, dir);
  if (mtime(built) < 0) continue;
  for (const entry of readdirSync(built, { recursive: true })) {
    if (!String(entry).endsWith('.js')) continue;
    const source = join(root, dir, String(entry)).replace(/\.js$/, '.ts');
    if (mtime(source) < 0) rmSync(join(built, String(entry)), { force: true });
  }
}
await Promise.all(pending);
const ms = Math.round(performance.now() - started);
console.error(`build-sample: ${pending.length} file(s) compiled with swc in ${ms} ms`);
