// nginx with proxy_cache as a contender in the cache benchmarks, when it is
// installed (Debian: `apt-get install nginx-light`); skipped with a note
// otherwise. It runs as the current user (no root needed) with everything in
// a fresh temporary directory used as its prefix: configuration, pid file,
// error log, temp and cache paths. It listens on 127.0.0.1 only, in the
// foreground (`daemon off`), with a master and one worker per core; the
// master gets SIGTERM (not SIGKILL, which would orphan the workers) when the
// benchmark exits or dies.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib.ts";
import { chooseExecutable, startDaemon, tempDir } from "./external.ts";

/** BENCH_NGINX=/path/to/nginx picks another build; BENCH_NGINX=none leaves nginx out. */
export function findNginx(): string | null {
  return chooseExecutable("BENCH_NGINX", "nginx", ["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"]);
}

export const NGINX_MISSING = "nginx not found (Debian: `apt-get install nginx-light`; or BENCH_NGINX=/path/to/nginx), or left out with BENCH_NGINX=none";

/** The configuration: a 256 MiB proxy cache (Outpost's default budget) in front of `origin`. */
export function nginxConfig(dir: string, port: number, origin: URL, workers: number, user: string | null): string {
  const path = (name: string) => JSON.stringify(join(dir, name));
  return `${user ? `user ${user};\n` : ""}daemon off;
master_process on;
worker_processes ${workers};
pid ${path("nginx.pid")};
error_log ${path("error.log")} warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${path("body")};
  proxy_temp_path ${path("proxy")};
  fastcgi_temp_path ${path("fastcgi")};
  uwsgi_temp_path ${path("uwsgi")};
  scgi_temp_path ${path("scgi")};
  proxy_cache_path ${path("cache")} levels=1:2 keys_zone=bench:16m max_size=256m inactive=60m use_temp_path=off;
  # No limit on requests per client connection (nginx closes one after 1,000 by default; node:http does not).
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  upstream origin {
    server ${origin.hostname}:${origin.port};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}

export interface NginxProcess {
  url: string;
  version: string;
  stop(): Promise<void>;
}

export async function startNginx(nginx: string, originUrl: string, timeoutMs = 20_000): Promise<NginxProcess> {
  // `nginx -v` writes "nginx version: nginx/1.22.1" to stderr.
  const probe = spawnSync(nginx, ["-v"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error || probe.status !== 0) throw new Error(`${nginx} -v failed: ${probe.error?.message ?? probe.stderr.trim()}`);
  const version = /nginx\/[\d.]+/.exec(probe.stderr)?.[0] ?? "nginx";
  const dir = tempDir("nginx");
  const port = await freePort();
  // As root the workers would switch to `nobody`, who cannot write the temp directory: keep them as the current user.
  const user = process.getuid?.() === 0 ? userInfo().username : null;
  const conf = join(dir.path, "nginx.conf");
  writeFileSync(conf, nginxConfig(dir.path, port, new URL(originUrl), availableParallelism(), user));
  const daemon = await startDaemon({
    name: "nginx",
    command: nginx,
    // -e: the error log before the configuration is read (the default one is under /var/log).
    args: ["-p", dir.path, "-c", conf, "-e", join(dir.path, "error.log")],
    url: `http://127.0.0.1:${port}`,
    dir,
    finalSignal: "TERM",
    timeoutMs,
  });
  return { url: daemon.url, version, stop: daemon.stop };
}

/** nginx says how it served a response in the X-Cache-Status header the configuration adds. */
export function nginxHit(headers: Headers): boolean {
  return headers.get("x-cache-status") === "HIT";
}
