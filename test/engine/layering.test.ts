/**
 * The engine's place in the one-way layers (src/engine ← src/nn ← methods ← train/score ← api/cli):
 * everything `src/engine` imports, followed transitively, stays inside `src/engine` or the shared
 * lowest layer (`src/errors.ts`, `src/util/`), and the imports inside `src/engine` (type-only ones
 * included) form no cycle. Imports are read from the sources with the TypeScript parser.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve("src");
const engine = join(root, "engine");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The project files a source file imports (static, re-exports and dynamic), resolved to .ts paths. */
function projectImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      ts.isStringLiteral(node.arguments[0])
    )
      specifiers.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers
    .filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts")));
}

const lowestLayer = (file: string) =>
  file === join(root, "errors.ts") || file.startsWith(`${join(root, "util")}/`);
const inEngine = (file: string) => file.startsWith(`${engine}/`);
const show = (file: string) => relative(resolve("."), file);

describe("engine layering", () => {
  it("src/engine imports nothing from src/nn or above, directly or through what it imports", () => {
    const violations: string[] = [];
    const seen = new Set<string>();
    const queue = sourceFiles(engine);
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const target of projectImports(file)) {
        if (!inEngine(target) && !lowestLayer(target)) violations.push(`${show(file)} -> ${show(target)}`);
        else queue.push(target);
      }
    }
    expect(violations).toEqual([]);
  });

  it("the imports inside src/engine form no cycle", () => {
    const edges = new Map(sourceFiles(engine).map((f) => [f, projectImports(f).filter(inEngine)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (file: string): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].map(show).join(" -> "));
        return;
      }
      state.set(file, "open");
      path.push(file);
      for (const target of edges.get(file) ?? []) visit(target);
      path.pop();
      state.set(file, "done");
    };
    for (const file of edges.keys()) visit(file);
    expect(cycles).toEqual([]);
  });
});
