// JavaScript Promise Integration (JSPI), shipped in V8 / Node 24 but not yet
// in TypeScript's lib: https://github.com/WebAssembly/js-promise-integration
declare namespace WebAssembly {
  /** Wraps an import so that a promise it returns suspends the calling Wasm until it settles. */
  class Suspending {
    constructor(fn: (...args: never[]) => unknown);
  }
  /** Wraps an export so that calling it returns a promise and lets its imports suspend. */
  function promising<F extends (...args: never[]) => unknown>(fn: F): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
}
