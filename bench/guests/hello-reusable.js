// bench/guests/hello.js as a reusable sandbox: one instance serves request
// after request (fastly_http_downstream::next_request), as js-compute apps
// can opt into with setReusableSandboxOptions().
import { setReusableSandboxOptions } from "fastly:experimental";

setReusableSandboxOptions({ maxRequests: 1000 });

addEventListener("fetch", (event) => {
  event.respondWith(
    new Response("Hello from Outpost!\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    }),
  );
});
