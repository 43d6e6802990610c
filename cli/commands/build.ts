// `outpost build [DIR]`: run the project's build and check the module it makes.
import { resolve } from "node:path";
import { Command } from "commander";
import { BuildFailed, buildProject } from "../project/build-project.ts";
import { progress } from "../project/progress.ts";
import { projectDirectory } from "../project/project-dir.ts";

export function buildCommand(): Command {
  return new Command("build")
    .description("build bin/main.wasm with [scripts].build (or the language's default) and check it")
    .argument("[dir]", "project directory", ".")
    .option("--verbose", "show the build's output as it runs")
    .action(async (dir: string, flags: { verbose?: boolean }) => {
      const root = projectDirectory(dir);
      try {
        await buildProject(resolve(root), { progress: progress(), verbose: flags.verbose });
      } catch (error) {
        if (error instanceof BuildFailed && !flags.verbose && error.output.trim()) process.stderr.write(error.output.replace(/\n?$/, "\n"));
        throw error;
      }
    });
}
