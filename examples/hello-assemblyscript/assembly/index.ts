// Hello world: `GET /?name=Ada` answers "Hello, Ada!" with the greeting from
// the `settings` config store.
import { ConfigStore, Request, Response } from "../../../sdk/assemblyscript";

export function _start(): void {
  const request = Request.fromClient();
  const method = request.method;
  if (method != "GET" && method != "HEAD") {
    Response.fromText("Method not allowed\n", 405).setHeader("allow", "GET, HEAD").send();
    return;
  }
  if (request.path != "/") {
    Response.fromText("Not found\n", 404).send();
    return;
  }
  const greeting = ConfigStore.open("settings").get("greeting");
  const name = request.queryParam("name");
  const text = (greeting !== null ? greeting : "Hello") + ", " + (name !== null && name.length > 0 ? name : "world") + "!\n";
  Response.fromText(text).setHeader("x-app", "hello-assemblyscript").send();
}
