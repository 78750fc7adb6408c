/**
 * Test tool: a throwaway CA with a server certificate (for the given IP addresses and
 * DNS names) and a client certificate, made with the system's openssl, laid out as
 * buildctl's `--tlsdir` expects: ca.pem, cert.pem, key.pem for the client, and
 * server-cert.pem, server-key.pem for the server.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp-dir.js";

export interface TestCerts {
  dir: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  serverCert: string;
  serverKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

export function makeTestCerts(options: { ips?: string[]; dns?: string[] } = {}): TestCerts {
  const dir = tempDir("hln-tls-");
  const san = [
    ...(options.ips ?? ["127.0.0.1"]).map((ip) => `IP:${ip}`),
    ...(options.dns ?? []).map((d) => `DNS:${d}`),
  ].join(",");
  const key = (name: string) =>
    openssl(
      dir,
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      name,
    );
  key("ca-key.pem");
  openssl(
    dir,
    "req",
    "-x509",
    "-new",
    "-key",
    "ca-key.pem",
    "-days",
    "2",
    "-subj",
    "/CN=hln test CA",
    "-out",
    "ca.pem",
  );
  const sign = (name: string, subject: string, ext: string) => {
    key(`${name}-key.pem`);
    openssl(dir, "req", "-new", "-key", `${name}-key.pem`, "-subj", subject, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}-cert.pem`,
    );
  };
  sign("server", "/CN=buildkitd", `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  sign("client", "/CN=hln", "extendedKeyUsage=clientAuth\n");
  // buildctl's --tlsdir names for the client side.
  execFileSync("cp", ["client-cert.pem", "cert.pem"], { cwd: dir });
  execFileSync("cp", ["client-key.pem", "key.pem"], { cwd: dir });
  return {
    dir,
    ca: join(dir, "ca.pem"),
    clientCert: join(dir, "cert.pem"),
    clientKey: join(dir, "key.pem"),
    serverCert: join(dir, "server-cert.pem"),
    serverKey: join(dir, "server-key.pem"),
  };
}
