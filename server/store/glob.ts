/**
 * Glob patterns as Keys and ListLocks take them, with Redis' MATCH rules:
 * `*` any run, `?` one character, `[abc]` / `[a-z]` / `[^a]` a class, and `\`
 * escaping the next character. Both stores use these rules, so that they
 * answer the same.
 */

const globSpecial = /[*?[\]\\]/g;

/**
 * Escapes every glob character of a literal, so that a namespace name or key
 * prefix is matched as itself inside a larger pattern.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(globSpecial, (c) => `\\${c}`);
}

/**
 * Compiles a glob into an anchored RegExp over whole code points. An
 * unterminated class is taken literally, as Redis does.
 */
export function globToRegExp(pattern: string): RegExp {
  const chars = Array.from(pattern);
  let out = "^";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "*") {
      out += "[\\s\\S]*";
    } else if (c === "?") {
      out += "[\\s\\S]";
    } else if (c === "\\") {
      const next = chars[i + 1];
      if (next === undefined) {
        out += "\\\\";
      } else {
        out += escapeRegExp(next);
        i++;
      }
    } else if (c === "[") {
      const end = classEnd(chars, i + 1);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      out += compileClass(chars.slice(i + 1, end));
      i = end;
    } else {
      out += escapeRegExp(c);
    }
  }
  return new RegExp(out + "$", "u");
}

/** Whether a pattern contains no glob syntax, i.e. matches one literal. */
export function isLiteralGlob(pattern: string): boolean {
  return !/[*?[\\]/.test(pattern);
}

/**
 * Where a class whose body starts at `from` ends (the index of its `]`), or
 * -1 when unterminated. Shared so that every reader of a pattern agrees on
 * where its classes end.
 */
export function classEnd(chars: string[], from: number): number {
  for (let j = from; j < chars.length; j++) {
    if (chars[j] === "\\") {
      j++;
    } else if (chars[j] === "]" && j > from) {
      return j;
    }
  }
  return -1;
}

function compileClass(body: string[]): string {
  let negate = false;
  let i = 0;
  if (body[0] === "^") {
    negate = true;
    i = 1;
  }
  let out = "";
  for (; i < body.length; i++) {
    let c = body[i] as string;
    if (c === "\\" && i + 1 < body.length) {
      c = body[++i] as string;
    }
    if (body[i + 1] === "-" && i + 2 < body.length) {
      let hi = body[i + 2] as string;
      if (hi === "\\" && i + 3 < body.length) {
        hi = body[i + 3] as string;
        i++;
      }
      const [a, b] = c <= hi ? [c, hi] : [hi, c];
      out += `${escapeClassChar(a)}-${escapeClassChar(b)}`;
      i += 2;
    } else {
      out += escapeClassChar(c);
    }
  }
  return `[${negate ? "^" : ""}${out}]`;
}

function escapeRegExp(c: string): string {
  // No "-" here: outside a class it is literal, and with the "u" flag the
  // escape "\-" is a syntax error (a pattern like "user-*" threw).
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function escapeClassChar(c: string): string {
  return c.replace(/[\]\\^-]/g, "\\$&");
}
