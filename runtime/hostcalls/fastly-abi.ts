// `fastly_abi`: the guest announces the ABI version it was built for.
// Advisory: guests ignore the status, and some never call it.
import { Status } from "../abi/status.ts";
import type { HostModule } from "./host-module.ts";

const ABI_VERSION = 1n;

export const fastlyAbi: HostModule = {
  init(_s, version: bigint) {
    return BigInt.asUintN(64, version) === ABI_VERSION ? Status.OK : Status.ERROR;
  },
};
