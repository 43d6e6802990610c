// `--tls-cert`, `--tls-key` and `--tls-client-ca` of `outpost serve` (and the
// PEM files of other flags, `--origin-ca`): read and checked before the
// server starts, each fault named.
import { readFileSync } from "node:fs";
import { createPrivateKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { TlsIdentity } from "../runtime/net/tls-front.ts";
import { UserError } from "./user-error.ts";

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

/** A PEM file a flag names, read whole; a missing or non-PEM file is the user's to fix. */
export function readPem(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${flag} ${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new UserError(`${flag} ${path}: not a PEM file (it has no "-----BEGIN" line)`);
  return text;
}

/** The identity to serve HTTPS with, or undefined when no TLS flag is given. */
export function tlsIdentity(flags: TlsFlags): TlsIdentity | undefined {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) {
    if (flags.tlsClientCa !== undefined) throw new UserError("--tls-client-ca needs --tls-cert and --tls-key (it asks HTTPS clients for a certificate)");
    return undefined;
  }
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw new UserError("--tls-cert and --tls-key go together: give both to serve HTTPS");
  const identity: TlsIdentity = { cert: readPem(flags.tlsCert, "--tls-cert"), key: readPem(flags.tlsKey, "--tls-key") };
  if (flags.tlsClientCa !== undefined) identity.clientCa = readPem(flags.tlsClientCa, "--tls-client-ca");
  try {
    createPrivateKey(identity.key);
  } catch {
    throw new UserError(`--tls-key ${flags.tlsKey}: not a private key (PEM, unencrypted)`);
  }
  try {
    createSecureContext({ cert: identity.cert, key: identity.key, ca: identity.clientCa });
  } catch (error) {
    throw new UserError(`--tls-cert ${flags.tlsCert} / --tls-key ${flags.tlsKey}: ${(error as Error).message.replace(/^error:[0-9A-F]+:/, "")}`);
  }
  return identity;
}
