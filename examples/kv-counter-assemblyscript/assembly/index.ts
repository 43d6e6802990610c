// A counter in a KV store. `GET /` adds one and answers the new count;
// `GET /count` answers the count without changing it.
//
// Concurrent requests must not lose increments, so each one reads the entry
// with its generation and writes the next value only if the generation is
// unchanged (`ifGenerationMatch`): a compare-and-swap. When another request
// wrote first, the write fails with PRECONDITION_FAILED and the request
// tries again with what that request wrote.
import { InsertMode, InsertOptions, KVError, KVStore, Request, Response } from "../../../sdk/assemblyscript";

const STORE = "counters";
const KEY = "visits";
/** Enough for hundreds of simultaneous requests; each failed try means another request succeeded. */
const MAX_ATTEMPTS = 1000;

export function _start(): void {
  const request = Request.fromClient();
  if (request.method != "GET") {
    Response.fromText("Method not allowed\n", 405).setHeader("allow", "GET").send();
    return;
  }
  const path = request.path;
  const store = KVStore.open(STORE);
  if (path == "/") {
    const count = increment(store);
    if (count < 0) Response.fromText("Too busy, try again\n", 503).setHeader("retry-after", "1").send();
    else counter(count).send();
  } else if (path == "/count") {
    const entry = store.lookup(KEY);
    counter(entry === null ? 0 : I64.parseInt(entry.text())).send();
  } else {
    Response.fromText("Not found\n", 404).send();
  }
}

/** Adds one to the counter and returns the new count, or -1 after too many lost races. */
function increment(store: KVStore): i64 {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = store.lookup(KEY);
    const options = new InsertOptions();
    let count: i64 = 0;
    if (entry === null) {
      // The first write creates the key; ADD fails if another request created it meanwhile.
      options.withMode(InsertMode.ADD);
    } else {
      count = I64.parseInt(entry.text());
      options.ifGenerationMatch(entry.generation);
    }
    const error = store.tryInsert<string>(KEY, (count + 1).toString(), options);
    if (error === null) return count + 1;
    if (error.kvError != KVError.PRECONDITION_FAILED) error.raise();
  }
  return -1;
}

function counter(count: i64): Response {
  return Response.fromText(count.toString() + "\n").setHeader("cache-control", "no-store");
}
