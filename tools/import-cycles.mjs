// `npm run lint`, after ESLint: fails on an import cycle among the files of src/, type-only
// imports included. ESLint's import-x/no-cycle follows runtime imports only (it skips
// `import type` by design), so a cycle that a type import closes would pass it; DESIGN.md
// allows none ("never in a circle"). Reads each file's import specifiers with TypeScript's
// `preProcessFile` (no type-check: about a second for all of src/).
//
//   node tools/import-cycles.mjs [<dir>]   (default: src)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const ts = createRequire(join(root, 'package.json'))('typescript');
const dir = resolve(root, process.argv[2] ?? 'src');

const files = readdirSync(dir, { recursive: true })
  .map((file) => join(dir, file))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
const known = new Set(files);

/** The files of `dir` that `file` imports (relative specifiers: `./x`, `../y/z`, `./dir`). */
function importsOf(file) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const base = resolve(dirname(file), specifier);
      return [`${base}.ts`, join(base, 'index.ts'), base].find((path) => existsSync(path));
    })
    .filter((path) => path !== undefined && known.has(path));
}
const graph = new Map(files.map((file) => [file, importsOf(file)]));

// Tarjan's strongly connected components: each component of more than one file is a cycle
// (a file that imports itself is one too).
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let next = 0;
function connect(file) {
  index.set(file, next);
  low.set(file, next++);
  stack.push(file);
  onStack.add(file);
  for (const target of graph.get(file)) {
    if (!index.has(target)) {
      connect(target);
      low.set(file, Math.min(low.get(file), low.get(target)));
    } else if (onStack.has(target)) low.set(file, Math.min(low.get(file), index.get(target)));
  }
  if (low.get(file) !== index.get(file)) return;
  const component = [];
  let member;
  do {
    member = stack.pop();
    onStack.delete(member);
    component.push(member);
  } while (member !== file);
  if (component.length > 1 || graph.get(file).includes(file)) cycles.push(component.reverse());
}
for (const file of files) if (!index.has(file)) connect(file);

for (const cycle of cycles) {
  console.error(`import cycle among: ${cycle.map((file) => relative(root, file)).join(', ')}`);
}
console.log(
  `import cycles in ${relative(root, dir)}/ (type-only imports included): ${cycles.length}`,
);
process.exitCode = cycles.length ? 1 : 0;
