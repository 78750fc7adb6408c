import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { parseBuildkitAddress, tlsFromEnv } from "./buildkit-address.js";

/** Asserts `fn` throws an HlnError with `code` whose message contains every one of `parts`. */
function throwsNaming(fn: () => unknown, code: string, ...parts: string[]) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof HlnError, `not an HlnError: ${String(err)}`);
    assert.equal(err.code, code);
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
    return true;
  });
}

describe("parseBuildkitAddress", () => {
  it("reads tcp host and port", () => {
    assert.deepEqual(parseBuildkitAddress("tcp://buildkitd.example:1234", "BUILDKIT_HOST"), {
      scheme: "tcp",
      host: "buildkitd.example",
      port: 1234,
    });
    assert.deepEqual(parseBuildkitAddress("tcp://10.0.0.2:8372", "--addr"), {
      scheme: "tcp",
      host: "10.0.0.2",
      port: 8372,
    });
  });

  it("unbrackets an IPv6 literal", () => {
    assert.deepEqual(parseBuildkitAddress("tcp://[::1]:1234", "BUILDKIT_HOST"), {
      scheme: "tcp",
      host: "::1",
      port: 1234,
    });
  });

  it("refuses tcp without a port, naming the variable and the value", () => {
    assert.throws(() => parseBuildkitAddress("tcp://buildkitd", "BUILDKIT_HOST"), {
      name: "HlnError",
      code: "E_USAGE",
      message:
        "BUILDKIT_HOST=tcp://buildkitd: no port (expected tcp://HOST:PORT, unix:///PATH or docker-container://NAME[?context=CTX])",
    });
  });

  it("reads a unix socket path, percent-decoded", () => {
    assert.deepEqual(parseBuildkitAddress("unix:///run/buildkit/buildkitd.sock", "BUILDKIT_HOST"), {
      scheme: "unix",
      path: "/run/buildkit/buildkitd.sock",
    });
    assert.deepEqual(parseBuildkitAddress("unix:///tmp/my%20dir/b.sock", "BUILDKIT_HOST"), {
      scheme: "unix",
      path: "/tmp/my dir/b.sock",
    });
  });

  it("keeps a relative unix path whole, as buildctl dials it", () => {
    assert.deepEqual(parseBuildkitAddress("unix://run/b.sock", "BUILDKIT_HOST"), {
      scheme: "unix",
      path: "run/b.sock",
    });
  });

  it("refuses unix without a path", () => {
    throwsNaming(
      () => parseBuildkitAddress("unix://", "BUILDKIT_HOST"),
      "E_USAGE",
      "BUILDKIT_HOST=unix://:",
      "no socket path",
    );
    throwsNaming(
      () => parseBuildkitAddress("unix:///", "--addr"),
      "E_USAGE",
      "--addr=unix:///:",
      "no socket path",
    );
  });

  it("reads a docker-container name, with and without a context", () => {
    assert.deepEqual(parseBuildkitAddress("docker-container://buildkitd", "BUILDKIT_HOST"), {
      scheme: "docker-container",
      container: "buildkitd",
    });
    assert.deepEqual(
      parseBuildkitAddress("docker-container://Buildx_Builder0?context=remote", "BUILDKIT_HOST"),
      { scheme: "docker-container", container: "Buildx_Builder0", context: "remote" },
    );
    // An empty ?context= means the current one.
    assert.deepEqual(parseBuildkitAddress("docker-container://b?context=", "BUILDKIT_HOST"), {
      scheme: "docker-container",
      container: "b",
    });
  });

  it("refuses docker-container without a name", () => {
    throwsNaming(
      () => parseBuildkitAddress("docker-container://", "BUILDKIT_HOST"),
      "E_USAGE",
      "BUILDKIT_HOST=docker-container://:",
      "no container name",
    );
  });

  it("names an unsupported scheme such as kube-pod", () => {
    assert.throws(() => parseBuildkitAddress("kube-pod://buildkitd-0", "BUILDKIT_HOST"), {
      code: "E_USAGE",
      message:
        "BUILDKIT_HOST=kube-pod://buildkitd-0: scheme kube-pod:// is not supported (expected tcp://HOST:PORT, unix:///PATH or docker-container://NAME[?context=CTX])",
    });
  });

  it("refuses garbage, naming the source and the value", () => {
    throwsNaming(
      () => parseBuildkitAddress("buildkitd:1234 oops", "--addr"),
      "E_USAGE",
      "--addr=buildkitd:1234 oops:",
    );
    throwsNaming(
      () => parseBuildkitAddress("not a url", "BUILDKIT_HOST"),
      "E_USAGE",
      "BUILDKIT_HOST=not a url: not a URL",
    );
    throwsNaming(() => parseBuildkitAddress("", "BUILDKIT_HOST"), "E_USAGE", "BUILDKIT_HOST=:");
  });
});

describe("tlsFromEnv", () => {
  /** A fake filesystem: `read` returns the path's bytes, as text, and throws ENOENT like readFileSync. */
  function fs(paths: string[]) {
    const reads: string[] = [];
    const read = (p: string): Uint8Array => {
      reads.push(p);
      if (!paths.includes(p))
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), {
          code: "ENOENT",
        });
      return new TextEncoder().encode(`<${p}>`);
    };
    const exists = (p: string) => paths.includes(p);
    return { read, exists, reads };
  }
  const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : b);
  const shown = (s: ReturnType<typeof tlsFromEnv>) =>
    s && {
      ca: text(s.ca),
      cert: text(s.cert),
      key: text(s.key),
      serverName: s.serverName,
    };

  it("is undefined when nothing is set (plain h2c)", () => {
    const f = fs([]);
    assert.equal(tlsFromEnv({}, f.read, f.exists), undefined);
    assert.equal(tlsFromEnv({ BUILDKIT_TLS_CA: "" }, f.read, f.exists), undefined);
    assert.deepEqual(f.reads, []);
  });

  it("takes ca.pem, cert.pem and key.pem from the TLS dir", () => {
    const f = fs(["/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem"]);
    assert.deepEqual(shown(tlsFromEnv({ BUILDKIT_TLS_DIR: "/certs" }, f.read, f.exists)), {
      ca: "</certs/ca.pem>",
      cert: "</certs/cert.pem>",
      key: "</certs/key.pem>",
      serverName: undefined,
    });
  });

  it("takes ca.crt, tls.crt and tls.key from the TLS dir (cert-manager's names)", () => {
    const f = fs(["/certs/ca.crt", "/certs/tls.crt", "/certs/tls.key"]);
    assert.deepEqual(shown(tlsFromEnv({ BUILDKIT_TLS_DIR: "/certs" }, f.read, f.exists)), {
      ca: "</certs/ca.crt>",
      cert: "</certs/tls.crt>",
      key: "</certs/tls.key>",
      serverName: undefined,
    });
  });

  it("prefers the .pem names when a dir holds both", () => {
    const f = fs(["/c/ca.pem", "/c/ca.crt"]);
    assert.equal(text(tlsFromEnv({ BUILDKIT_TLS_DIR: "/c" }, f.read, f.exists)?.ca), "</c/ca.pem>");
  });

  it("lets explicit files override the dir", () => {
    const f = fs(["/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem", "/other/ca", "/x/key"]);
    const env = {
      BUILDKIT_TLS_DIR: "/certs",
      BUILDKIT_TLS_CA: "/other/ca",
      BUILDKIT_TLS_KEY: "/x/key",
      BUILDKIT_TLS_SERVERNAME: "buildkitd",
    };
    assert.deepEqual(shown(tlsFromEnv(env, f.read, f.exists)), {
      ca: "</other/ca>",
      cert: "</certs/cert.pem>",
      key: "</x/key>",
      serverName: "buildkitd",
    });
  });

  it("turns TLS on with a server name alone (system roots)", () => {
    const f = fs([]);
    assert.deepEqual(tlsFromEnv({ BUILDKIT_TLS_SERVERNAME: "bk.internal" }, f.read, f.exists), {
      serverName: "bk.internal",
    });
  });

  it("takes a CA alone", () => {
    const f = fs(["/ca.pem"]);
    assert.deepEqual(shown(tlsFromEnv({ BUILDKIT_TLS_CA: "/ca.pem" }, f.read, f.exists)), {
      ca: "</ca.pem>",
      cert: undefined,
      key: undefined,
      serverName: undefined,
    });
  });

  it("refuses a certificate without its key, and a key without its certificate", () => {
    const f = fs(["/cert.pem", "/key.pem", "/d/cert.pem"]);
    const message = "BuildKit TLS: a client certificate needs its key and the other way round";
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_CERT: "/cert.pem" }, f.read, f.exists), {
      code: "E_INPUT_INVALID",
      message,
      // The setting as data: the CLI names it as the user gave it (setting-words.ts).
      remedy: { settings: ["tlsClientCert"] },
      hint: "set a client certificate and its key",
    });
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_KEY: "/key.pem" }, f.read, f.exists), {
      code: "E_INPUT_INVALID",
      message,
    });
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_DIR: "/d" }, f.read, f.exists), {
      code: "E_INPUT_INVALID",
      message,
    });
  });

  it("names the variable and the path of a missing file", () => {
    const f = fs([]);
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_CA: "/nope/ca.pem" }, f.read, f.exists), {
      code: "E_INPUT_INVALID",
      message: "BUILDKIT_TLS_CA=/nope/ca.pem: cannot read (no such file)",
    });
    assert.throws(
      () =>
        tlsFromEnv(
          { BUILDKIT_TLS_CERT: "/nope/cert.pem", BUILDKIT_TLS_KEY: "/nope/key.pem" },
          f.read,
          f.exists,
        ),
      { message: "BUILDKIT_TLS_CERT=/nope/cert.pem: cannot read (no such file)" },
    );
  });

  it("names other read failures by their code", () => {
    const read = () => {
      throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    };
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_KEY: "/root/key.pem" }, read, () => true), {
      code: "E_INPUT_INVALID",
      message: "BUILDKIT_TLS_KEY=/root/key.pem: cannot read (EACCES)",
    });
  });

  it("names the flag instead of the variable when a flag set it", () => {
    const f = fs(["/empty/key.pem"]);
    assert.throws(
      () =>
        tlsFromEnv({ BUILDKIT_TLS_CA: "/nope/ca.pem" }, f.read, f.exists, {
          BUILDKIT_TLS_CA: "--tlscacert",
        }),
      { code: "E_INPUT_INVALID", message: "--tlscacert /nope/ca.pem: cannot read (no such file)" },
    );
    assert.throws(
      () =>
        tlsFromEnv({ BUILDKIT_TLS_DIR: "/empty" }, f.read, f.exists, {
          BUILDKIT_TLS_DIR: "--tlsdir",
        }),
      { message: "--tlsdir /empty: holds none of ca.pem, ca.crt, cert.pem, tls.crt" },
    );
  });

  it("refuses a TLS dir that holds neither a CA nor a certificate", () => {
    const f = fs(["/empty/key.pem"]);
    assert.throws(() => tlsFromEnv({ BUILDKIT_TLS_DIR: "/empty" }, f.read, f.exists), {
      code: "E_INPUT_INVALID",
      message: "BUILDKIT_TLS_DIR=/empty: holds none of ca.pem, ca.crt, cert.pem, tls.crt",
    });
  });
});
