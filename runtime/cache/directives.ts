// Parsing the directive lists of Cache-Control (RFC 9111 §5.2),
// Surrogate-Control and CDN-Cache-Control (RFC 9213): comma-separated
// `name` or `name=value` items, values optionally quoted. Malformed input is
// read as leniently as is safe and never throws.

export type Directives = Map<string, string | true>;

/** RFC 9111 §1.2.2: delta-seconds too large to represent are read as 2^31. */
const MAX_DELTA_SECONDS = 2 ** 31;

/** Parses one or more header field values into directives; the first occurrence of a name wins (RFC 9111 §4.2.1). */
export function parseDirectives(values: readonly string[] | string | undefined): Directives {
  const directives: Directives = new Map();
  const list = typeof values === "string" ? [values] : (values ?? []);
  for (const value of list) {
    for (const item of splitItems(value)) {
      const eq = item.indexOf("=");
      const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
      if (!name || directives.has(name)) continue;
      if (eq < 0) {
        directives.set(name, true);
        continue;
      }
      let arg = item.slice(eq + 1).trim();
      if (arg.startsWith('"')) arg = arg.slice(1, arg.endsWith('"') && arg.length > 1 ? -1 : undefined).replace(/\\(.)/g, "$1");
      directives.set(name, arg);
    }
  }
  return directives;
}

/** Splits on commas outside quoted strings. */
function splitItems(value: string): string[] {
  const items: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    if (c === "\\" && quoted && i + 1 < value.length) {
      current += c + value[++i];
      continue;
    }
    if (c === "," && !quoted) {
      if (current.trim()) items.push(current.trim());
      current = "";
      continue;
    }
    current += c;
  }
  if (current.trim()) items.push(current.trim());
  return items;
}

/**
 * A directive's delta-seconds argument (RFC 9111 §1.2.2), or null when the
 * directive is absent or its argument is not a non-negative integer.
 */
export function deltaSeconds(directives: Directives, name: string): number | null {
  const value = directives.get(name);
  return typeof value === "string" ? parseDeltaSeconds(value) : null;
}

/**
 * RFC 9111 §1.2.2: delta-seconds is `1*DIGIT`; anything else (a sign, a
 * fraction, spaces inside) is invalid (null). Values past 2^31 read as 2^31.
 */
export function parseDeltaSeconds(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const seconds = Number(value);
  return Number.isSafeInteger(seconds) ? Math.min(seconds, MAX_DELTA_SECONDS) : MAX_DELTA_SECONDS;
}

/** RFC 9110 §5.6.2: a token, as directive names must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Whether a field has at least one well-formed directive: RFC 9213 §2.2 has
 * a cache use a targeted field only when its value is valid and non-empty.
 */
export function hasValidDirective(directives: Directives): boolean {
  for (const name of directives.keys()) if (TOKEN.test(name)) return true;
  return false;
}

/** Field names listed in a qualified directive (`no-cache="set-cookie, x-foo"`), or null when unqualified. */
export function fieldNames(directives: Directives, name: string): string[] | null {
  const value = directives.get(name);
  if (typeof value !== "string") return null;
  return value
    .split(",")
    .map((field) => field.trim().toLowerCase())
    .filter(Boolean);
}
