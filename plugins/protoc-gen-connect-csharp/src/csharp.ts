import type { DescFile, DescMessage } from "@bufbuild/protobuf";

/**
 * C# naming, done exactly as protoc's built-in C# generator does it, so that
 * the client refers to the message classes protoc wrote, by their real names.
 */

/**
 * protoc's `UnderscoresToCamelCase`: drops underscores and capitalizes the
 * letter after each underscore, digit or (when kept) period.
 *
 * @param input a proto identifier or dotted package name.
 * @param capitalizeFirst whether the first letter is capitalized.
 * @param keepPeriods whether periods stay (for namespaces).
 */
export function underscoresToCamelCase(input: string, capitalizeFirst: boolean, keepPeriods: boolean): string {
  let out = "";
  let capNext = capitalizeFirst;
  for (const ch of input) {
    if (ch >= "a" && ch <= "z") {
      out += capNext ? ch.toUpperCase() : ch;
      capNext = false;
    } else if (ch >= "A" && ch <= "Z") {
      // protoc keeps an upper-case letter as is, but lower-cases the very
      // first character of a camelCase name.
      out += out === "" && !capitalizeFirst ? ch.toLowerCase() : ch;
      capNext = false;
    } else if (ch >= "0" && ch <= "9") {
      out += ch;
      capNext = true;
    } else if (ch === "." && keepPeriods) {
      out += ".";
      capNext = true;
    } else {
      capNext = true;
    }
  }
  return out;
}

/**
 * The C# namespace protoc uses for a file: its `csharp_namespace` option, or
 * the package in PascalCase (`larder.v1` → `Larder.V1`).
 *
 * @param file the proto file.
 */
export function fileNamespace(file: DescFile): string {
  const option = file.proto.options?.csharpNamespace;
  if (option !== undefined && option !== "") return option;
  return underscoresToCamelCase(file.proto.package, true, true);
}

/**
 * The base name protoc gives a file's C# output: `larder/v1/cache.proto` →
 * `Cache`.
 *
 * @param file the proto file.
 */
export function fileBaseName(file: DescFile): string {
  const base = (file.name.split("/").pop() ?? file.name).replace(/\.proto$/, "");
  return underscoresToCamelCase(base, true, false);
}

/**
 * The fully qualified C# type of a message. Nested messages live in the
 * `Types` class of their parent, as protoc writes them.
 *
 * @param message the message.
 */
export function messageType(message: DescMessage): string {
  const chain: string[] = [];
  const parents = ancestry(message);
  parents.forEach((m, i) => {
    chain.push(m.name);
    if (i < parents.length - 1) chain.push("Types");
  });
  return `global::${fileNamespace(message.file)}.${chain.join(".")}`;
}

/** The message and its enclosing messages, outermost first. */
function ancestry(message: DescMessage): DescMessage[] {
  const out: DescMessage[] = [];
  for (let m: DescMessage | undefined = message; m !== undefined; m = m.parent) out.unshift(m);
  return out;
}

/**
 * Turns proto comments into an XML doc comment, escaped so that `<` or `&`
 * in a comment cannot break the compiler's XML parsing.
 *
 * @param comment the comment text, lines separated by `\n`; may be empty.
 * @param indent the indentation of the documented member.
 * @param fallback the summary used when the proto has no comment.
 */
export function xmlDoc(comment: string | undefined, indent: string, fallback: string): string {
  const text = (comment ?? "").trim() === "" ? fallback : (comment ?? "");
  const lines = text
    .replace(/\n+$/, "")
    .split("\n")
    .map((l) => l.replace(/^ /, "").trimEnd());
  while (lines.length > 0 && lines[0] === "") lines.shift();
  const escaped = lines.map((l) => l.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"));
  return [
    `${indent}/// <summary>`,
    ...escaped.map((l) => (l === "" ? `${indent}///` : `${indent}/// ${l}`)),
    `${indent}/// </summary>`,
  ].join("\n");
}
