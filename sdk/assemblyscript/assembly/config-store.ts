// Config stores: `[local_server.config_stores]` in fastly.toml.
import * as config from "./abi/config_store";
import { getString6, OUT, utf8 } from "./io";
import { check, FastlyError, Status } from "./status";

const configGet = (h: u32, k: usize, kl: u32, buf: usize, max: u32, nw: usize): u32 => config.get(h, k, kl, buf, max, nw);

/** A read-only store of text settings. */
export class ConfigStore {
  readonly name: string;
  readonly handle: u32;

  private constructor(name: string, handle: u32) {
    this.name = name;
    this.handle = handle;
  }

  /** Opens a store fastly.toml declares; stops the request when there is none by that name. */
  static open(name: string): ConfigStore {
    const bytes = utf8(name);
    const status = config.open(changetype<usize>(bytes), bytes.byteLength, OUT);
    if (status == Status.BADF || status == Status.INVAL) new FastlyError(status, "no config store named " + name).raise();
    check(status, "open config store " + name);
    return new ConfigStore(name, load<u32>(OUT));
  }

  /** The value of `key`, or null when the store has no such key. */
  get(key: string): string | null {
    const bytes = utf8(key);
    return getString6(configGet, this.handle, changetype<usize>(bytes), bytes.byteLength, Status.NONE, "config store " + this.name + ": read " + key);
  }
}
