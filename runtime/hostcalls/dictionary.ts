// `fastly_dictionary`: Edge Dictionaries, the older name of config stores.
// Same stores (`[local_server.dictionaries]` and `config_stores` are one
// table), same handles, same statuses as `fastly_config_store`.
import { configStoreCalls } from "./config-store.ts";
import type { HostModule } from "./host-module.ts";

export const fastlyDictionary: HostModule = configStoreCalls;
