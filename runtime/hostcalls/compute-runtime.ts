// `fastly_compute_runtime`: the guest's own resource use.
import { Status } from "../abi/status.ts";
import { CpuTracker } from "../engine/cpu-tracker.ts";
import type { HostModule } from "./host-module.ts";

export const fastlyComputeRuntime: HostModule = {
  get_vcpu_ms(s, out) {
    s.mem.u64(out, Math.floor(CpuTracker.used(s)));
    return Status.OK;
  },
  get_heap_mib(s, out) {
    s.mem.u32(out, Math.ceil(s.mem.size / (1024 * 1024)));
    return Status.OK;
  },
};
