// A caching proxy that tags what it caches with surrogate keys, so that a
// group of responses can be purged at once:
//
//   GET  /products/<id>   proxied to the backend "origin" and cached for an
//                         hour, tagged `products` and `product-<id>` by the
//                         app itself (a CacheOverride);
//   GET  anything else    proxied and cached as the origin's Cache-Control
//                         says, tagged with the keys of the origin's own
//                         Surrogate-Key header;
//   POST /purge/<key>     purges every cached response tagged <key>
//                         (`?soft=1` marks them stale instead of removing them).
//
// A real service would guard the purge route (a secret header checked against
// a secret store, say); it is open here to keep the example short.
/// <reference types="@fastly/js-compute" />
import { CacheOverride } from "fastly:cache-override";
import { purgeSurrogateKey } from "fastly:compute";

const PRODUCT = /^\/products\/([A-Za-z0-9_-]+)$/;
const PURGE = /^\/purge\/([^/]+)$/;

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);

  const purge = PURGE.exec(url.pathname);
  if (purge) {
    if (request.method !== "POST") return new Response("Use POST to purge\n", { status: 405, headers: { allow: "POST" } });
    const key = decodeURIComponent(purge[1]);
    const soft = url.searchParams.get("soft") === "1";
    purgeSurrogateKey(key, soft);
    return new Response(`${soft ? "soft-" : ""}purged ${key}\n`, { headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  if (request.method !== "GET" && request.method !== "HEAD") return fetch(request, { backend: "origin" });

  const product = PRODUCT.exec(url.pathname);
  if (product) {
    const cacheOverride = new CacheOverride("override", { ttl: 3600, surrogateKey: `products product-${product[1]}` });
    return fetch(request, { backend: "origin", cacheOverride });
  }
  // The origin's Cache-Control and Surrogate-Key headers decide.
  return fetch(request, { backend: "origin" });
}
