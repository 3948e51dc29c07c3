// Every type the public API names is itself public: walks the declarations of each name that
// `dist/index.d.ts` exports (public and protected members, signatures, heritage clauses) and
// lists each type it refers to that is declared inside the package but not exported from the
// root, where a consumer could not name it (`exports` forbids deep imports).
//
//   node test/compat/public-types.mjs [<package dir>]   (default: this repository, after `npm run build`)
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const ts = createRequire(join(root, 'package.json'))('typescript');

/** The unexported package types that the exported declarations of `pkgDir` name. */
export function unexportedTypes(pkgDir) {
  const dist = resolve(pkgDir, 'dist');
  const entry = join(dist, 'index.d.ts');
  const program = ts.createProgram([entry], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    experimentalDecorators: true,
  });
  const checker = program.getTypeChecker();
  const resolveAlias = (symbol) =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolveAlias));
  const inPackage = (declaration) => declaration.getSourceFile().fileName.startsWith(dist + '/');
  const problems = new Map();

  const hidden = (node) =>
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);

  function visit(node, owner) {
    if (hidden(node) || (node.name && ts.isPrivateIdentifier(node.name))) return;
    // Nest calls the constructors of providers, and a module's base class is the
    // ConfigurableModuleClass its static methods override: neither is the consumer's to name.
    if (ts.isConstructorDeclaration(node)) return;
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ExtendsKeyword) {
      const base = node.types[0]?.expression.getText() ?? '';
      if (base.endsWith('ConfigurableModule')) return;
    }
    let name;
    if (ts.isTypeReferenceNode(node)) name = node.typeName;
    else if (ts.isExpressionWithTypeArguments(node)) name = node.expression;
    // `typeof X_OPTIONS_TYPE`: ConfigurableModuleBuilder's carrier of the options type; the
    // consumer passes an object literal, typed by the exported `<Module>Options`.
    else if (ts.isTypeQueryNode(node) && !/_OPTIONS_TYPE$/.test(node.exprName.getText()))
      name = node.exprName;
    else if (ts.isImportTypeNode(node)) name = node.qualifier;
    if (name) {
      const symbol = checker.getSymbolAtLocation(name);
      const target = symbol && resolveAlias(symbol);
      const declaration = target?.declarations?.[0];
      if (
        declaration &&
        inPackage(declaration) &&
        !(target.flags & ts.SymbolFlags.TypeParameter) &&
        !exported.has(target) &&
        !exported.has(checker.getMergedSymbol(target))
      ) {
        const where = `${target.name} (${declaration.getSourceFile().fileName.slice(dist.length + 1)})`;
        if (!problems.has(where)) problems.set(where, new Set());
        problems.get(where).add(owner);
      }
    }
    ts.forEachChild(node, (child) => visit(child, owner));
  }

  for (const symbol of exported) {
    for (const declaration of symbol.declarations ?? []) {
      if (!inPackage(declaration)) continue;
      visit(declaration, symbol.name);
    }
  }
  return [...problems].map(([type, owners]) => `${type}: named by ${[...owners].join(', ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = unexportedTypes(process.argv[2] ?? root);
  for (const problem of problems) console.error(`not exported: ${problem}`);
  console.log(`public types: ${problems.length} type(s) named by the API but not exported`);
  process.exitCode = problems.length ? 1 : 0;
}
