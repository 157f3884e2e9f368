import fc from "fast-check";
import jsyaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors.js";
import { checkNesting, documentTexts } from "./yamlStream.js";

const CORE = { schema: jsyaml.CORE_SCHEMA };

/** js-yaml's documents of a text, or the fact that it refuses it. */
function documents(text: string): unknown[] | "refused" {
  try {
    return jsyaml.loadAll(text, null, CORE) as unknown[];
  } catch {
    return "refused";
  }
}

/** The documents of the pieces, one after the other; refused if any piece is. */
function documentsOfPieces(pieces: string[]): unknown[] | "refused" {
  const out: unknown[] = [];
  for (const piece of pieces) {
    const docs = documents(piece);
    if (docs === "refused") return "refused";
    out.push(...docs);
  }
  return out;
}

describe("documentTexts: a stream cut at its document markers", () => {
  it("cuts before each --- line, and only there", () => {
    expect(documentTexts("a: 1\n---\nb: 2\n--- 3\n---\n")).toEqual(["a: 1\n", "---\nb: 2\n", "--- 3\n", "---\n"]);
    expect(documentTexts("---\na: 1\n")).toEqual(["---\na: 1\n"]);
    // "----" and "---x" are content, not markers; so is "---" further in on a line.
    expect(documentTexts("a: ----\nb: ---x\nc: |\n  ---\n")).toEqual(["a: ----\nb: ---x\nc: |\n  ---\n"]);
    expect(documentTexts("a: 1\r\n---\r\nb: 2\r\n")).toEqual(["a: 1\r\n", "---\r\nb: 2\r\n"]);
    expect(documentTexts("a: 1\n---\tx\n")).toEqual(["a: 1\n", "---\tx\n"]);
  });

  it("drops what comes before the first marker if it is only comments and blank lines", () => {
    expect(documentTexts("# a comment\n\n---\na: 1\n")).toEqual(["---\na: 1\n"]);
    expect(documentTexts("\uFEFF# c\n---\na: 1\n")).toEqual(["---\na: 1\n"]);
    // Alone, such a text is one empty document, as js-yaml reads it.
    expect(documentTexts("# only a comment\n")).toEqual(["# only a comment\n"]);
  });

  it("reads a banner of comments above the first document in linear time", () => {
    const banner = `${"#".repeat(60)}\n# a scenario\n${"#".repeat(60)}\n`;
    // Above content: the piece is a document and stays (an ambiguous regular expression took
    // seconds to decide this for a banner of 16 "#").
    expect(documentTexts(`${banner}a: 1\n---\nb: 2\n`)).toEqual([`${banner}a: 1\n`, "---\nb: 2\n"]);
    // Above the first marker: it is no document, and goes.
    expect(documentTexts(`${banner}---\nb: 2\n`)).toEqual(["---\nb: 2\n"]);
  });

  it("leaves a stream with directives whole", () => {
    expect(documentTexts("%YAML 1.2\n---\na: 1\n")).toBeUndefined();
    expect(documentTexts("a: 1\n...\n%YAML 1.2\n---\nb: 2\n")).toBeUndefined();
  });

  it("gives, piece by piece, exactly the documents of the whole stream (property)", () => {
    const fragment = fc.constantFrom(
      "a: 1\n",
      "b: [1, 2]\n",
      "c: {x: y}\n",
      "- 1\n",
      "  - 2\n",
      "# comment\n",
      "\n",
      "   \n",
      "---\n",
      "--- 5\n",
      "--- # c\n",
      "---\r\n",
      "--- |\n  block\n",
      "...\n",
      "----\n",
      "---x: 1\n",
      "d: |\n  text\n",
      "d: >\n  folded\n",
      "e: 'single'\n",
      'f: "two\n  lines"\n',
      "g: &anchor 1\n",
      "h: *anchor\n",
      "null\n",
      "~\n",
      "key:\n",
      "##########\n",
      "  # indented comment\n",
      "a: 1 # trailing comment\n",
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fragment, { maxLength: 12 }), (bom, fragments) => {
        const text = (bom ? "\uFEFF" : "") + fragments.join("");
        const pieces = documentTexts(text);
        expect(pieces).toBeDefined();
        expect(pieces!.join("").length).toBeLessThanOrEqual(text.length);
        const whole = documents(text);
        // Where js-yaml refuses the stream, the loader reads it again with yaml anyway; what
        // matters is that wherever the pieces all parse, they give the whole stream's documents.
        const byPieces = documentsOfPieces(pieces!);
        if (byPieces !== "refused") expect(byPieces).toEqual(whole);
        else expect(whole).toBe("refused");
      }),
      { numRuns: 3000, seed: 20261127 },
    );
  });
});

describe("checkNesting", () => {
  /** What checkNesting refuses, character by character: the definition the fast scan must keep. */
  function nestingByCharacter(text: string, max: number): string | null {
    let line = 1;
    let lineStart = true;
    let indent = 0;
    let markers = 0;
    let flow = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "\n") {
        line++;
        lineStart = true;
        indent = 0;
        markers = 0;
        continue;
      }
      if (lineStart) {
        if (c === " ") {
          if (++indent > max) return `indentation at line ${line}`;
          continue;
        }
        if ((c === "-" || c === "?") && (text[i + 1] === " " || text[i + 1] === "\n")) {
          if (indent + ++markers * 2 > max * 2) return `block nesting at line ${line}`;
          if (text[i + 1] === " ") i++;
          continue;
        }
        lineStart = false;
      }
      if (c === "[" || c === "{") {
        if (++flow > max) return `brackets at line ${line}`;
      } else if ((c === "]" || c === "}") && flow > 0) flow--;
    }
    return null;
  }

  function refusal(text: string, max: number): string | null {
    try {
      checkNesting(text, "f.yaml", max);
      return null;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return /\((.*)\)/.exec(e.message)![1];
    }
  }

  it("refuses deep indentation, compact markers and brackets, naming the line", () => {
    expect(refusal("a:\n" + " ".repeat(6) + "b: 1\n", 5)).toBe("indentation at line 2");
    expect(refusal("- - - x\n", 5)).toBeNull();
    expect(refusal("x: 1\n  - - - - x\n", 4)).toBe("block nesting at line 2");
    expect(refusal("a: 1\nb: [[[[{x: 1}]]]]\n", 4)).toBe("brackets at line 2");
    expect(refusal("a: [[]]\nb: [[]]\nc: [[]]\n", 2)).toBeNull();
  });

  it("counts a marker that ends its line on that line: the next line's number is right", () => {
    // "-" alone on line 2; the over-deep indentation is on line 3.
    expect(refusal("a:\n-\n" + " ".repeat(6) + "b: 1\n", 5)).toBe("indentation at line 3");
  });

  it("refuses exactly what a character-by-character scan refuses (property)", () => {
    const ch = fc.constantFrom(" ", " ", " ", "-", "?", "\n", "\n", "[", "]", "{", "}", "a", "\t", "\r");
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 80 }), fc.integer({ min: 1, max: 6 }), (chars, max) => {
        const text = chars.join("");
        expect(refusal(text, max)).toBe(nestingByCharacter(text, max));
      }),
      { numRuns: 5000, seed: 20261127 },
    );
  });
});
