// The `outpost` command line: one file per command in ./commands, listed here.
import { Command, CommanderError } from "commander";
import { ConfigError } from "../runtime/config/config-error.ts";
import { ModuleError } from "../runtime/engine/module-loader.ts";
import { serveCommand } from "./commands/serve.ts";
import { purgeCommand } from "./commands/purge.ts";
import { kvCommand } from "./commands/kv.ts";
import { initCommand } from "./commands/init.ts";
import { buildCommand } from "./commands/build.ts";
import { packCommand } from "./commands/pack.ts";
import { validateCommand } from "./commands/validate.ts";
import { UserError } from "./user-error.ts";
import packageJson from "../package.json" with { type: "json" };

const program = new Command("outpost")
  .description("Run Fastly Compute-compatible WebAssembly locally or on your own edge")
  .version(packageJson.version)
  .showSuggestionAfterError()
  .exitOverride();

program.addCommand(serveCommand());
program.addCommand(purgeCommand());
program.addCommand(kvCommand());
// The project lifecycle: init → build → serve (--watch) → pack → validate.
program.addCommand(initCommand());
program.addCommand(buildCommand());
program.addCommand(packCommand());
program.addCommand(validateCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof UserError || error instanceof ConfigError || error instanceof ModuleError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
