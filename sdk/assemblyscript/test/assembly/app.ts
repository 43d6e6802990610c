// The SDK's test app (test/sdk/assemblyscript-sdk.test.ts): one route per
// part of the SDK, answering with what it saw in a form the test can check.
import {
  Body,
  CacheOverride,
  Client,
  ConfigStore,
  console,
  decodeComponent,
  formatAddress,
  InsertMode,
  InsertOptions,
  KVError,
  KVStore,
  ListOptions,
  Logger,
  monotonicNanos,
  now,
  PendingRequest,
  Request,
  Response,
} from "../..";

export function _start(): void {
  const request = Request.fromClient();
  const path = request.path;
  if (path == "/echo") echo(request);
  else if (path == "/bytes") reverseBytes(request);
  else if (path == "/proxy") proxy(request);
  else if (path == "/compose") compose();
  else if (path == "/fail") fail(request);
  else if (path == "/async") parallel();
  else if (path == "/async-fail") parallelFailure();
  else if (path == "/cache") cache(request);
  else if (path == "/stream") stream();
  else if (path == "/config") config(request);
  else if (path.startsWith("/kv/")) kv(request, path.substring(4));
  else if (path == "/log") log();
  else if (path == "/client") client();
  else if (path == "/format") format();
  else if (path == "/panic") panicNow(request);
  else if (path == "/time") time();
  else Response.fromText("no route for " + path + "\n", 404).send();
}

function echo(request: Request): void {
  const headers = request.headers;
  const lines = [
    "method=" + request.method,
    "url=" + request.url,
    "path=" + request.path,
    "query=" + request.query,
    "q=" + nullable(request.queryParam("q")),
    "agent=" + nullable(headers.get("user-agent")),
    "multi=" + headers.getAll("x-multi").join("|"),
    "missing=" + (headers.has("x-missing") ? "yes" : "no") + "," + headers.getAll("x-missing").length.toString(),
    "has-multi=" + (headers.keys().includes("x-multi") ? "yes" : "no"),
    "body=" + request.text(),
  ];
  const response = Response.fromText(lines.join("\n") + "\n");
  response.headers.append("x-list", "one");
  response.headers.append("x-list", "two");
  response.headers.set("x-gone", "soon");
  const removed = response.headers.delete("x-gone");
  const removedAgain = response.headers.delete("x-gone");
  response.setHeader("x-removed", removed.toString() + "," + removedAgain.toString());
  response.status = 201;
  response.setHeader("x-status", response.status.toString());
  response.send();
}

function reverseBytes(request: Request): void {
  const bytes = request.bytes();
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i];
  Response.fromBytes<Uint8Array>(out).setHeader("content-type", "application/octet-stream").send();
}

/** Forwards the client's request (body streaming through) and adds a header to the answer. */
function proxy(request: Request): void {
  request.setHeader("x-via", "assemblyscript");
  const response = request.send("origin");
  // The client's address is still known once its request has been sent on.
  response.setHeader("x-proxied", "yes").setHeader("x-client", Client.address()).send();
}

/** A request built from scratch, with a body, sent synchronously; the origin's answer read whole. */
function compose(): void {
  const outgoing = new Request("PUT", "http://origin.test/composed?x=1");
  outgoing.setHeader("x-made", "here").setBody<string>("made in AS");
  const response = outgoing.send("origin");
  Response.fromText("origin said " + response.status.toString() + ": " + response.text() + "\n").send();
}

function fail(request: Request): void {
  const backend = request.queryParam("backend")!;
  const result = new Request("GET", "http://nowhere.test/").trySend(backend);
  const error = result.error;
  if (error === null) {
    Response.fromText("unexpectedly ok\n", 500).send();
    return;
  }
  const body = "status=" + error.status.toString() + "\ndetail=" + error.detail.toString() + "\nmessage=" + error.message + "\n";
  Response.fromText(body, 502).send();
}

/** Two requests at once: the faster is selected first, the other waited for. */
function parallel(): void {
  const slow = new Request("GET", "http://origin.test/slow").sendAsync("origin");
  const fast = new Request("GET", "http://origin.test/fast").sendAsync("origin");
  const pending = [slow, fast];
  const first = PendingRequest.select(pending);
  const firstBody = first.result.unwrap().text();
  const other = pending[first.index == 0 ? 1 : 0];
  const ready = other.isReady();
  const second = other.wait().text();
  Response.fromText("first=" + first.index.toString() + ":" + firstBody + " second=" + second + " ready-before-wait=" + ready.toString() + "\n").send();
}

/** A request that fails is selected like any other, with its error; `tryWait` reports failures too. */
function parallelFailure(): void {
  const refused = new Request("GET", "http://nowhere.test/").sendAsync("refused");
  const slow = new Request("GET", "http://origin.test/slow").sendAsync("origin");
  const pending = [refused, slow];
  const first = PendingRequest.select(pending);
  const error = first.result.error;
  const again = new Request("GET", "http://nowhere.test/").sendAsync("refused").tryWait();
  const lines = [
    "first=" + first.index.toString() + " ok=" + first.result.ok.toString() + " error=" + (error === null ? "" : error.message),
    "then=" + pending[1 - first.index].wait().text(),
    "wait-error=" + (again.error === null ? "" : again.error!.message),
  ];
  Response.fromText(lines.join("\n") + "\n").send();
}

function cache(request: Request): void {
  const mode = request.queryParam("mode")!;
  const outgoing = new Request("GET", "http://origin.test/counter/" + mode);
  if (mode == "ttl") outgoing.setCacheOverride(CacheOverride.ttl(300).withSurrogateKey("as-test"));
  else if (mode == "pass") outgoing.setCacheOverride(CacheOverride.pass());
  const response = outgoing.send("origin");
  Response.fromText(response.text()).send();
}

function stream(): void {
  const response = new Response(200);
  response.setHeader("content-type", "text/plain");
  response.body.write<string>("first\n");
  const out = response.stream();
  for (let i = 0; i < 3; i++) out.write<string>("chunk " + i.toString() + "\n");
  const tail = Body.from<string>("appended\n");
  out.append(tail);
  out.finish();
}

function config(request: Request): void {
  const store = ConfigStore.open("settings");
  const value = store.get(request.queryParam("key")!);
  if (value === null) Response.fromText("no such key\n", 404).send();
  else Response.fromText(value).send();
}

function kv(request: Request, action: string): void {
  if (action == "open-missing") {
    KVStore.open("no-such-store");
    return;
  }
  const store = KVStore.open("store");
  const key = request.queryParam("key");
  if (action == "get") {
    const entry = store.lookup(key!);
    if (entry === null) {
      Response.fromText("not found\n", 404).send();
      return;
    }
    const response = Response.fromText(entry.text());
    response.setHeader("x-generation", entry.generation.toString());
    const metadata = entry.metadataText();
    if (metadata !== null) response.setHeader("x-metadata", metadata);
    response.send();
  } else if (action == "put") {
    const options = new InsertOptions();
    const mode = request.queryParam("mode");
    if (mode == "add") options.withMode(InsertMode.ADD);
    else if (mode == "append") options.withMode(InsertMode.APPEND);
    else if (mode == "prepend") options.withMode(InsertMode.PREPEND);
    const meta = request.queryParam("meta");
    if (meta !== null) options.withMetadata(meta);
    const ttl = request.queryParam("ttl");
    if (ttl !== null) options.withTtl(U32.parseInt(ttl));
    const gen = request.queryParam("gen");
    if (gen !== null) options.ifGenerationMatch(U64.parseInt(gen));
    const error = store.tryInsert<Body>(key!, request.body, options);
    if (error === null) Response.fromText("ok\n").send();
    else if (error.kvError == KVError.PRECONDITION_FAILED) Response.fromText(error.message + "\n", 412).send();
    else Response.fromText(error.message + "\n", 400).send();
  } else if (action == "delete") {
    Response.fromText(store.delete(key!) ? "deleted\n" : "missing\n").send();
  } else if (action == "list") {
    const options = new ListOptions();
    const prefix = request.queryParam("prefix");
    if (prefix !== null) options.withPrefix(prefix);
    const limit = request.queryParam("limit");
    if (limit !== null) options.withLimit(U32.parseInt(limit));
    const cursor = request.queryParam("cursor");
    if (cursor !== null) options.withCursor(cursor);
    const page = store.list(options);
    const next = page.nextCursor;
    Response.fromText("keys=" + page.keys.join(",") + "\nnext=" + (next === null ? "" : next) + "\n").send();
  } else {
    Response.fromText("unknown kv action\n", 404).send();
  }
}

function log(): void {
  new Logger("audit").log("an audit line");
  console.log("a stdout line");
  console.error("a stderr line");
  Response.fromText("logged\n").send();
}

function client(): void {
  const geo = Client.geolocation();
  Response.fromText("address=" + Client.address() + "\ngeo=" + (geo === null ? "none" : geo) + "\n").send();
}

function format(): void {
  const v6 = new Uint8Array(16);
  const lines = new Array<string>();
  lines.push(formatAddress(v6));
  v6[15] = 1;
  lines.push(formatAddress(v6));
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  lines.push(formatAddress(v6));
  // 1:0:0:1:0:0:0:1: the longer run of zeros is compressed.
  const mixed = new Uint8Array(16);
  mixed[1] = 1;
  mixed[7] = 1;
  mixed[15] = 1;
  lines.push(formatAddress(mixed));
  const v4 = new Uint8Array(4);
  v4[0] = 192;
  v4[1] = 0;
  v4[2] = 2;
  v4[3] = 33;
  lines.push(formatAddress(v4));
  lines.push(decodeComponent("a%20b+c%2Fd%zz%C3%A9"));
  Response.fromText(lines.join("\n") + "\n").send();
}

function panicNow(request: Request): void {
  if (request.queryParam("how") == "unwrap") {
    new Request("GET", "http://nowhere.test/").send("no-such-backend");
  }
  throw new Error("deliberate failure");
}

function time(): void {
  const start = monotonicNanos();
  const wall = now();
  Response.fromText(wall.toString() + "\n" + (monotonicNanos() >= start ? "monotonic" : "went back") + "\n").send();
}

function nullable(value: string | null): string {
  return value === null ? "(null)" : value;
}
