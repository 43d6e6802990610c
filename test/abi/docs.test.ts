import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { render } from "../../scripts/gen-abi-docs.ts";

it("docs/abi-support.md lists what the registry implements (regenerate with node scripts/gen-abi-docs.ts)", () => {
  expect(readFileSync(new URL("../../docs/abi-support.md", import.meta.url), "utf8")).toBe(render());
});
