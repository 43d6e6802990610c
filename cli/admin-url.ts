// Where the CLI's admin commands (`outpost purge`, `outpost kv`) reach a
// running server's admin API.
import { UserError } from "./user-error.ts";

/** Where `outpost serve` puts the admin API unless told otherwise (`--admin-addr`). */
export const DEFAULT_ADMIN_ADDR = "127.0.0.1:7677";
export const DEFAULT_ADMIN = `http://${DEFAULT_ADMIN_ADDR}`;

/** `--admin` checked and without trailing slashes, ready for paths to be appended. */
export function adminBase(admin: string): string {
  try {
    const url = new URL(admin);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
    return url.href.replace(/\/+$/, "");
  } catch {
    throw new UserError(`--admin must be the admin API's URL (for example ${DEFAULT_ADMIN}), got "${admin}"`);
  }
}
