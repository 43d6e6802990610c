// The SDK's entry point: `import { Request, Response } from "../vendor/outpost"`.
export * from "./assembly/index";
