// {{name}}: a Fastly Compute app in AssemblyScript.
//
// Build: `outpost build` (or `asc assembly/index.ts -o bin/main.wasm`, which
// reads its options from asconfig.json). Serve: `outpost serve`.
// The SDK is in vendor/outpost; its README lists what it covers.
import { Request, Response } from "../vendor/outpost";

export function _start(): void {
  const request = Request.fromClient();

  if (request.method != "GET" && request.method != "HEAD") {
    Response.fromText("Method not allowed\n", 405).setHeader("allow", "GET, HEAD").send();
    return;
  }
  if (request.path != "/") {
    Response.fromText("Not found\n", 404).send();
    return;
  }
  Response.fromText("Hello from AssemblyScript on Fastly Compute!\n").send();
}
