// A Fastly Compute app in JavaScript: every request runs this script in a
// fresh WebAssembly instance. Build it with `outpost build`, run it with
// `outpost serve`, and see https://js-compute-reference-docs.edgecompute.app/
// for the APIs (fetch to backends, the cache, KV, config and secret stores).
/// <reference types="@fastly/js-compute" />

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/") {
    return new Response("Hello from JavaScript on Outpost!\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  // Anything else goes to the backend named "origin" in fastly.toml's [local_server].
  return fetch(request, { backend: "origin" });
}
