// The JavaScript counterpart of examples/hello: one fixed response per request.
addEventListener("fetch", (event) => {
  event.respondWith(
    new Response("Hello from Outpost!\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
  );
});
