// A throwaway certificate authority for TLS tests, made with the openssl CLI
// in a temporary directory at test time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestCa extends Certificate {
  dir: string;
  /** A certificate signed by this CA, for the given DNS names / IP addresses. */
  issue(name: string, options?: { dns?: string[]; ips?: string[]; client?: boolean }): Certificate;
  remove(): void;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function read(dir: string, name: string): Certificate {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
}

export function createTestCa(commonName = "Outpost Test CA"): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "outpost-ca-"));
  openssl(
    [
      "req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${commonName}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  let serial = 1;
  return {
    ...read(dir, "ca"),
    dir,
    issue(name, options = {}) {
      const names = [...(options.dns ?? []).map((dns) => `DNS:${dns}`), ...(options.ips ?? []).map((ip) => `IP:${ip}`)];
      const extensions = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        `extendedKeyUsage=${options.client ? "clientAuth" : "serverAuth"}`,
        ...(names.length > 0 ? [`subjectAltName=${names.join(",")}`] : []),
      ];
      writeFileSync(join(dir, `${name}.ext`), extensions.join("\n") + "\n");
      openssl(["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
      openssl(
        [
          "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(serial++),
          "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`,
        ],
        dir,
      );
      return read(dir, name);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
