// `fastly_compute_runtime`: the guest's own resource use.
import { Status } from "../abi/status.ts";
import { now } from "../engine/cpu-tracker.ts";
import type { HostModule } from "./host-module.ts";

export const fastlyComputeRuntime: HostModule = {
  get_vcpu_ms(s, out) {
    const current = s.sliceStart > 0 ? now() - s.sliceStart : 0;
    s.mem.u64(out, Math.floor(s.cpuUsedMs + current));
    return Status.OK;
  },
  get_heap_mib(s, out) {
    s.mem.u32(out, Math.ceil(s.mem.size / (1024 * 1024)));
    return Status.OK;
  },
};
