import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "sdk/**/*.test.ts"],
    // Guests run in worker threads of their own; each test file gets a process.
    pool: "forks",
    // V8's code protection keys can abort a process that churns Wasm code on many threads (runtime/engine/code-protection.ts).
    execArgv: ["--no-memory-protection-keys"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ["test/helpers/global-setup.ts"],
  },
});
