// Runs once before the suite: nothing to prepare yet beyond checking the runtime.
export default function setup(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) throw new Error(`the tests need Node.js 24+ (found ${process.version}); run them with \`npm test\``);
}
