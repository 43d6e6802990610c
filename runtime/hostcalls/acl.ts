// `fastly_acl`: the ACLs of `[local_server.acls]` (runtime/stores/acl.ts),
// read in place. A lookup that matches answers a body holding the JSON the
// platform returns, `{"action":"BLOCK","prefix":"192.0.2.0/24"}`; one that
// does not answers `no_content` through the `acl_error` out-value, with a
// status of `ok`: the status is for the call itself.
import { HostError, Status } from "../abi/status.ts";
import { Body } from "../session/body.ts";
import type { Session } from "../session/session.ts";
import { lookupAcl } from "../stores/acl.ts";
import { utf8 } from "./abi-io.ts";
import type { HostModule } from "./host-module.ts";

/** witx `$acl_error`. */
const AclError = { OK: 1, NO_CONTENT: 2 } as const;

export const fastlyAcl: HostModule = {
  open(s: Session, namePtr: number, nameLen: number, handleOut: number) {
    const name = s.mem.string(namePtr, nameLen);
    const acls = s.service.data.acls ?? {};
    // An unknown name is `none` (the reference emulator's answer; the SDKs report "ACL not found").
    if (!Object.hasOwn(acls, name)) throw new HostError(Status.NONE, `no ACL named ${name}`);
    s.mem.u32(handleOut, s.acls.add(acls[name]));
    return Status.OK;
  },

  lookup(s: Session, handle: number, ipPtr: number, ipLen: number, bodyOut: number, aclErrorOut: number) {
    const acl = s.acls.get(handle);
    if (ipLen !== 4 && ipLen !== 16) throw new HostError(Status.INVAL, `an IP address has 4 or 16 octets, not ${ipLen >>> 0}`);
    const json = lookupAcl(acl, s.mem.slice(ipPtr, ipLen));
    if (json === null) {
      s.mem.u32(aclErrorOut, AclError.NO_CONTENT);
      return Status.OK;
    }
    // Check both out-pointers before making the body, so a bad one leaves no handle behind.
    s.mem.u32(aclErrorOut, AclError.OK);
    s.mem.u32(bodyOut, 0);
    const body = new Body();
    body.write(utf8(json), false);
    s.mem.u32(bodyOut, s.asyncItems.add(body));
    return Status.OK;
  },
};
