import ts from 'typescript';

/**
 * Small, checked edits of TypeScript sources the generators extend (a declaration's arrays, the
 * registry, an AppModule). They find the spot through the syntax tree rather than by text, and
 * throw, naming the file, when the source does not have the expected shape: a hand-edited file
 * the generator cannot extend is reported, never half-edited.
 */
function parse(file: string, source: string): ts.SourceFile {
  return ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function find<T extends ts.Node>(root: ts.Node, test: (node: ts.Node) => node is T): T[] {
  const found: T[] = [];
  const visit = (node: ts.Node) => {
    if (test(node)) found.push(node);
    node.forEachChild(visit);
  };
  visit(root);
  return found;
}

/** The array literal of a property (`publishes: [...]`) or a variable (`const EVENT_REGISTRY = Object.freeze([...])`). */
function arrayNamed(file: string, sf: ts.SourceFile, name: string): ts.ArrayLiteralExpression {
  const arrays = find(sf, (node): node is ts.PropertyAssignment | ts.VariableDeclaration => (ts.isPropertyAssignment(node) || ts.isVariableDeclaration(node)) && node.name.getText(sf) === name)
    .map((node) => (node.initializer ? find(node.initializer, ts.isArrayLiteralExpression)[0] : undefined))
    .filter((array): array is ts.ArrayLiteralExpression => array !== undefined);
  if (arrays.length !== 1) throw new Error(`${file}: expected one array literal "${name}", found ${arrays.length}`);
  return arrays[0];
}

/** The names an array literal lists (identifiers and spreads as written). */
export function arrayElements(file: string, source: string, name: string): string[] {
  const sf = parse(file, source);
  return arrayNamed(file, sf, name).elements.map((element) => element.getText(sf));
}

/** Appends `element` to the array literal `name`, keeping one-line arrays on one line. */
export function appendToArray(file: string, source: string, name: string, element: string): string {
  const sf = parse(file, source);
  const array = arrayNamed(file, sf, name);
  if (array.elements.some((e) => e.getText(sf) === element)) return source;
  const closing = array.getEnd() - 1;
  const multiline = sf.getLineAndCharacterOfPosition(array.getStart(sf)).line !== sf.getLineAndCharacterOfPosition(closing).line;
  const last = array.elements[array.elements.length - 1];
  if (!last) return source.slice(0, closing) + element + source.slice(closing);
  if (!multiline) return source.slice(0, last.getEnd()) + `, ${element}` + source.slice(last.getEnd());
  const indent = ' '.repeat(sf.getLineAndCharacterOfPosition(last.getStart(sf)).character);
  const afterLast = array.elements.hasTrailingComma ? source.indexOf(',', last.getEnd()) + 1 : last.getEnd();
  return source.slice(0, afterLast) + (array.elements.hasTrailingComma ? '' : ',') + `\n${indent}${element},` + source.slice(afterLast);
}

/** Makes `import { name } from 'module'` true: extends an existing import of the module, or adds one after the last import. */
export function ensureNamedImport(file: string, source: string, module: string, name: string, typeOnly = false): string {
  const sf = parse(file, source);
  const imports = sf.statements.filter(ts.isImportDeclaration);
  const bindings = imports
    .filter((i) => (i.moduleSpecifier as ts.StringLiteral).text === module && !i.importClause?.isTypeOnly)
    .map((i) => i.importClause?.namedBindings)
    .find((b): b is ts.NamedImports => b !== undefined && ts.isNamedImports(b));
  const spelled = typeOnly ? `type ${name}` : name;
  if (bindings) {
    if (bindings.elements.some((e) => e.name.text === name)) return source;
    const last = bindings.elements[bindings.elements.length - 1];
    return source.slice(0, last.getEnd()) + `, ${spelled}` + source.slice(last.getEnd());
  }
  const line = `import { ${spelled} } from '${module}';\n`;
  const after = imports[imports.length - 1];
  if (!after) return line + source;
  const end = source.indexOf('\n', after.getEnd()) + 1;
  return source.slice(0, end) + line + source.slice(end);
}

/** Whether the source declares a class of that name. */
export function declaresClass(file: string, source: string, name: string): boolean {
  return find(parse(file, source), ts.isClassDeclaration).some((c) => c.name?.text === name);
}

/** The instance properties of a class as written (decorators included), to start a new version from the previous one. */
export function instanceProperties(file: string, source: string, className: string): string[] {
  const sf = parse(file, source);
  const cls = find(sf, ts.isClassDeclaration).find((c) => c.name?.text === className);
  if (!cls) throw new Error(`${file}: no class ${className}`);
  return cls.members
    .filter((m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m) && !m.modifiers?.some((mod) => mod.kind === ts.SyntaxKind.StaticKeyword))
    .map((m) => m.getText(sf));
}

/** The field a contract's `key: (e) => e.<field>` reads, when it is that simple. */
export function keyField(file: string, source: string, className: string): string | undefined {
  const sf = parse(file, source);
  const cls = find(sf, ts.isClassDeclaration).find((c) => c.name?.text === className);
  const key = cls && find(cls, ts.isPropertyAssignment).find((p) => p.name.getText(sf) === 'key');
  return key ? /=>\s*\w+\.(\w+)\s*$/.exec(key.initializer.getText(sf))?.[1] : undefined;
}
