// Local testing of code that handles bots: with `outpost serve`'s testing
// fields on (the default, as for X-Outpost-Client-IP), a request describes
// how the platform's bot detection would see it in `X-Fastly-Bot-*` fields,
// the ones the reference emulator reads:
//
//   X-Fastly-Bot-Analyzed: true      X-Fastly-Bot-Detected: true
//   X-Fastly-Bot-Verified: true      X-Fastly-Bot-Name: GoogleBot
//   X-Fastly-Bot-Category: search-engine-crawler   (or its number, 11)
//
// The fields stay in the request the guest sees, as in the reference emulator.
import type { IncomingHttpHeaders } from "node:http";
import type { BotFacts } from "../engine/protocol.ts";

/** `$bot_category_kind` values by the category's name. */
const CATEGORY_KINDS: Record<string, number> = {
  none: 0,
  suspected: 1,
  accessibility: 2,
  "ai-crawler": 3,
  "ai-fetcher": 4,
  "content-fetcher": 5,
  "monitoring-site-tools": 6,
  "online-marketing": 7,
  "page-preview": 8,
  "platform-integration": 9,
  research: 10,
  "search-engine-crawler": 11,
  "search-engine-optimization": 12,
  "security-tools": 13,
  headless: 14,
};

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** What the request's `X-Fastly-Bot-*` fields say; undefined when it has none. */
export function botFacts(headers: IncomingHttpHeaders): BotFacts | undefined {
  const analyzed = single(headers["x-fastly-bot-analyzed"]);
  const detected = single(headers["x-fastly-bot-detected"]);
  const verified = single(headers["x-fastly-bot-verified"]);
  const name = single(headers["x-fastly-bot-name"]) ?? null;
  const category = single(headers["x-fastly-bot-category"]) ?? null;
  if (analyzed === undefined && detected === undefined && verified === undefined && name === null && category === null) return undefined;
  return {
    analyzed: analyzed === "true",
    detected: detected === "true",
    verified: verified === "true",
    name,
    category,
    categoryKind: category === null ? null : categoryKind(category.trim().toLowerCase()),
  };
}

function categoryKind(category: string): number | null {
  if (category in CATEGORY_KINDS) return CATEGORY_KINDS[category];
  return /^\d{1,9}$/.test(category) ? Number(category) : null;
}
