// Builds the examples that need no external toolchain (WebAssembly text), so
// that a fresh checkout can `npx outpost serve examples/hello` right after
// `npm install`. Runs as the package's `prepare` script; plain JavaScript, so
// that it runs on whatever Node runs `npm install`.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";

const root = join(import.meta.dirname, "..", "examples");
const wabt = await wabtInit();
for (const name of readdirSync(root)) {
  const source = join(root, name, "src", "main.wat");
  if (!existsSync(source)) continue;
  const module = wabt.parseWat(source, readFileSync(source, "utf8"));
  mkdirSync(join(root, name, "bin"), { recursive: true });
  writeFileSync(join(root, name, "bin", "main.wasm"), module.toBinary({}).buffer);
  module.destroy();
  console.log(`built examples/${name}/bin/main.wasm`);
}
