// Progress of a long step (a build): a spinner when stderr is a terminal,
// plain lines otherwise (CI logs, tests, pipes).
import ora from "ora";

export interface Progress {
  /** A step begins. */
  start(text: string): void;
  /** The step succeeded. */
  succeed(text: string): void;
  /** The step failed. */
  fail(text: string): void;
}

export function progress(options: { quiet?: boolean } = {}): Progress {
  if (options.quiet) return { start() {}, succeed() {}, fail() {} };
  // (A terminal that reports no width makes the spinner redraw without end.)
  if (process.stderr.isTTY && process.stderr.columns > 0) {
    const spinner = ora({ stream: process.stderr, discardStdin: false });
    return {
      start: (text) => spinner.start(text),
      succeed: (text) => spinner.succeed(text),
      fail: (text) => spinner.fail(text),
    };
  }
  return {
    start: (text) => console.error(`${text}...`),
    succeed: (text) => console.error(text),
    fail: (text) => console.error(text),
  };
}
