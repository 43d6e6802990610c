// Hello world for Fastly Compute in JavaScript. Every request runs in a fresh
// WebAssembly instance built from this file by @fastly/js-compute.
/// <reference types="@fastly/js-compute" />

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

function handle(request) {
  const url = new URL(request.url);
  if (url.pathname !== "/") return new Response("Not found\n", { status: 404 });
  return new Response(`Hello from JavaScript on Outpost! You asked for ${request.method} ${url.pathname}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
