// Parsing cache directive lists (RFC 9111 §5.2, §1.2.2; RFC 9213 §2.1): the
// edge cases origins actually send.
import { describe, expect, it } from "vitest";
import { deltaSeconds, fieldNames, hasValidDirective, parseDeltaSeconds, parseDirectives } from "../../runtime/cache/directives.ts";

const parse = (...values: string[]) => Object.fromEntries(parseDirectives(values));

describe("parseDirectives", () => {
  it("reads names case-insensitively, values as written (RFC 9111 §5.2)", () => {
    expect(parse("Public, MAX-AGE=60, No-Cache")).toEqual({ public: true, "max-age": "60", "no-cache": true });
  });

  it("unquotes quoted-string values, commas and escapes included (RFC 9110 §5.6.4)", () => {
    expect(parse('private="Set-Cookie, X-User", max-age="30"')).toEqual({ private: "Set-Cookie, X-User", "max-age": "30" });
    expect(parse('x="a \\"quoted\\" word", y=1')).toEqual({ x: 'a "quoted" word', y: "1" });
  });

  it("keeps the first occurrence of a name, across field lines too (RFC 9111 §4.2.1)", () => {
    expect(parse("max-age=60, max-age=5")).toEqual({ "max-age": "60" });
    expect(parse("max-age=5", "max-age=60")).toEqual({ "max-age": "5" });
  });

  it("skips empty items and items without a name", () => {
    expect(parse(" ,, ,=x, =, max-age=1,")).toEqual({ "max-age": "1" });
    expect(parse("")).toEqual({});
    expect(parseDirectives(undefined).size).toBe(0);
  });

  it("trims whitespace around names and values", () => {
    expect(parse("  max-age =  60 ,\tpublic\t")).toEqual({ "max-age": "60", public: true });
  });

  it("reads an unterminated quote to the end of the field without throwing", () => {
    expect(parse('max-age=5, foo="open, no-store')).toEqual({ "max-age": "5", foo: "open, no-store" });
    expect(() => parse('"', '""', "\\", '="')).not.toThrow();
  });

  it("copes with very long fields", () => {
    expect(parse(`${",".repeat(100_000)}max-age=7`)).toEqual({ "max-age": "7" });
  });
});

describe("deltaSeconds (RFC 9111 §1.2.2)", () => {
  const seconds = (value: string) => deltaSeconds(parseDirectives(`max-age=${value}`), "max-age");

  it("reads 1*DIGIT, leading zeros included", () => {
    expect(seconds("60")).toBe(60);
    expect(seconds("0")).toBe(0);
    expect(seconds("007")).toBe(7);
    expect(seconds('"45"')).toBe(45);
  });

  it("refuses anything else", () => {
    for (const value of ["-1", "+60", "1.5", "0x10", "1e3", "", "abc", "6 0", "Infinity", "NaN"]) expect(seconds(value), value).toBeNull();
    expect(deltaSeconds(parseDirectives("max-age"), "max-age")).toBeNull();
    expect(deltaSeconds(parseDirectives("public"), "max-age")).toBeNull();
  });

  it("reads values too large to represent as 2^31", () => {
    expect(seconds(String(2 ** 31))).toBe(2 ** 31);
    expect(seconds(String(2 ** 31 + 1))).toBe(2 ** 31);
    expect(seconds("9".repeat(400))).toBe(2 ** 31);
  });

  it("parseDeltaSeconds takes raw field values (Age)", () => {
    expect(parseDeltaSeconds("30")).toBe(30);
    expect(parseDeltaSeconds(undefined)).toBeNull();
    expect(parseDeltaSeconds("-5")).toBeNull();
  });
});

describe("fieldNames", () => {
  it("lists the fields of a qualified directive, lower-cased (RFC 9111 §5.2.2.4, §5.2.2.7)", () => {
    expect(fieldNames(parseDirectives('no-cache="Set-Cookie, X-Foo ,"'), "no-cache")).toEqual(["set-cookie", "x-foo"]);
    expect(fieldNames(parseDirectives("private=X-User"), "private")).toEqual(["x-user"]);
  });

  it("is null for the unqualified form or an absent directive", () => {
    expect(fieldNames(parseDirectives("no-cache"), "no-cache")).toBeNull();
    expect(fieldNames(parseDirectives("public"), "private")).toBeNull();
  });
});

describe("hasValidDirective (RFC 9213 §2.2: a valid, non-empty targeted field)", () => {
  it("wants at least one directive named by a token", () => {
    expect(hasValidDirective(parseDirectives("max-age=60"))).toBe(true);
    expect(hasValidDirective(parseDirectives(""))).toBe(false);
    expect(hasValidDirective(parseDirectives(" , ,"))).toBe(false);
    expect(hasValidDirective(parseDirectives('"'))).toBe(false);
    expect(hasValidDirective(parseDirectives("(max-age)"))).toBe(false);
  });
});
