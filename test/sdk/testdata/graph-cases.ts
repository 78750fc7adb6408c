/**
 * Container, Directory and File chains whose Definitions are recorded under graph/.
 * Each returns what it compiles: a result (a container's root filesystem, a directory or
 * a file) and the secret values that must appear nowhere in the graph.
 */
import type { Output } from "../../../src/llb/index.js";
import type { Directory } from "../../../src/sdk/directory.js";
import type { File } from "../../../src/sdk/file.js";
import type { GraphKit } from "./graph-kit.js";

export interface GraphCase {
  /** The chain in a stack author's words, recorded beside its ops. */
  chain: string;
  build(kit: GraphKit): { result: Directory | File; secretValues?: string[] };
}

export const secretValue = "s3cr3t-Value-that-must-not-leak";

export const graphCases: Record<string, GraphCase> = {
  "from-image": {
    chain: 'dag.container().from("debian:bookworm-slim")',
    build: (k) => ({ result: k.container().from("debian:bookworm-slim").directory("/") }),
  },
  "exec-inherits-image-settings": {
    chain: 'dag.container().from("node:22-slim").withExec(["node", "--version"])',
    build: (k) => ({
      result: k.container().from("node:22-slim").withExec(["node", "--version"]).directory("/"),
    }),
  },
  "exec-env-workdir-user": {
    chain:
      'from("node:22-slim").withEnvVariable("NODE_ENV", "production").withEnvVariable("PATH", "/opt/bin:/usr/bin").withWorkdir("/srv/app").withUser("1000:1000").withExec(["npm", "start"])',
    build: (k) => ({
      result: k
        .container()
        .from("node:22-slim")
        .withEnvVariable("NODE_ENV", "production")
        .withEnvVariable("PATH", "/opt/bin:/usr/bin")
        .withWorkdir("/srv/app")
        .withUser("1000:1000")
        .withExec(["npm", "start"])
        .directory("/"),
    }),
  },
  "exec-cache-volumes": {
    chain:
      'from("node:22-slim").withMountedCache("/root/.npm", cacheVolume("npm")).withMountedCache("/build", cacheVolume("build"), { sharing: "locked" }).withExec(["npm", "ci"])',
    build: (k) => ({
      result: k
        .container()
        .from("node:22-slim")
        .withMountedCache("/root/.npm", k.cacheVolume("npm"))
        .withMountedCache("/build", k.cacheVolume("build"), { sharing: "locked" })
        .withExec(["npm", "ci"])
        .directory("/"),
    }),
  },
  "exec-secrets": {
    chain:
      'from("debian:bookworm-slim").withSecretVariable("TOKEN", setSecret("token", VALUE)).withMountedSecret("/run/secrets/npmrc", secretFromFile("/nowhere/npmrc", "npmrc"), { mode: 0o440, uid: 1000 }).withEnvVariable("TOKEN_HINT", "see TOKEN").withExec(["sh", "-c", "test -n \\"$TOKEN\\""])',
    build: (k) => ({
      result: k
        .container()
        .from("debian:bookworm-slim")
        .withSecretVariable("TOKEN", k.setSecret("token", secretValue))
        .withMountedSecret("/run/secrets/npmrc", k.secretFromFile("/nowhere/npmrc", "npmrc"), {
          mode: 0o440,
          uid: 1000,
        })
        .withEnvVariable("TOKEN_HINT", "see TOKEN")
        .withExec(["sh", "-c", 'test -n "$TOKEN"'])
        .directory("/"),
      secretValues: [secretValue],
    }),
  },
  "exec-secret-replaces-env": {
    chain:
      'from("debian:bookworm-slim").withEnvVariable("PASSWORD", "plain").withSecretVariable("PASSWORD", setSecret("db-password", VALUE)).withExec(["env"])',
    build: (k) => ({
      result: k
        .container()
        .from("debian:bookworm-slim")
        .withEnvVariable("PASSWORD", "plain")
        .withSecretVariable("PASSWORD", k.setSecret("db-password", secretValue))
        .withExec(["env"])
        .directory("/"),
      secretValues: [secretValue],
    }),
  },
  "exec-tmpfs-and-mounted-directory": {
    chain:
      'from("busybox").withMountedTemp("/tmp", { size: 1 << 20 }).withMountedDirectory("/src", dag.directory().withNewFile("main.sh", "echo hi")).withExec(["sh", "/src/main.sh"])',
    build: (k) => ({
      result: k
        .container()
        .from("busybox")
        .withMountedTemp("/tmp", { size: 1 << 20 })
        .withMountedDirectory("/src", k.directory().withNewFile("main.sh", "echo hi\n"))
        .withExec(["sh", "/src/main.sh"])
        .directory("/"),
    }),
  },
  "exec-options": {
    chain:
      'from("busybox").withExec(["sh", "-c", "exit 3"], { capture: false, network: "none", validExitCodes: [0, 3], noCache: true })',
    build: (k) => ({
      result: k
        .container()
        .from("busybox")
        .withExec(["sh", "-c", "exit 3"], {
          capture: false,
          network: "none",
          validExitCodes: [0, 3],
          noCache: true,
        })
        .directory("/"),
    }),
  },
  "exec-long-argv": {
    chain: 'from("busybox").withExec(["echo", "x".repeat(5000)])',
    build: (k) => ({
      result: k
        .container()
        .from("busybox")
        .withExec(["echo", "x".repeat(5000)])
        .directory("/"),
    }),
  },
  "with-directory-filtered": {
    chain:
      'from("node:22-slim").withWorkdir("/app").withDirectory(".", dag.directory().withNewFile("src/index.js", ...).withNewFile("README.md", ...), { include: ["src/**"], exclude: ["**/*.test.js"] })',
    build: (k) => {
      const sources = k
        .directory()
        .withNewFile("src/index.js", 'console.log("hi");\n')
        .withNewFile("src/index.test.js", "// test\n")
        .withNewFile("README.md", "# app\n");
      return {
        result: k
          .container()
          .from("node:22-slim")
          .withWorkdir("/app")
          .withDirectory(".", sources, { include: ["src/**"], exclude: ["**/*.test.js"] })
          .directory("/"),
      };
    },
  },
  "with-file-from-another-container": {
    chain:
      'from("debian:bookworm-slim").withFile("/usr/local/bin/busybox", dag.container().from("busybox").file("/bin/busybox"), { permissions: 0o755 })',
    build: (k) => ({
      result: k
        .container()
        .from("debian:bookworm-slim")
        .withFile("/usr/local/bin/busybox", k.container().from("busybox").file("/bin/busybox"), {
          permissions: 0o755,
        })
        .directory("/"),
    }),
  },
  "directory-ops": {
    chain:
      'dag.directory().withNewDirectory("conf", { permissions: 0o700 }).withNewFile("conf/app.env", "A=1").withNewFile("tmp/x", "x").withoutFile("tmp/x").withDirectory("etc", from("busybox").directory("/etc"), { include: ["passwd", "group"] }).directory("conf")',
    build: (k) => ({
      result: k
        .directory()
        .withNewDirectory("conf", { permissions: 0o700 })
        .withNewFile("conf/app.env", "A=1\n")
        .withNewFile("tmp/x", "x")
        .withoutFile("tmp/x")
        .withDirectory("etc", k.container().from("busybox").directory("/etc"), {
          include: ["passwd", "group"],
        })
        .directory("conf"),
    }),
  },
  "rootfs-from-directory": {
    chain:
      'dag.container().withRootfs(dag.directory().withFile("/bin/busybox", from("busybox").file("/bin/busybox"))).withWorkdir("/work").withNewFile("notes.txt", "n").withExec(["/bin/busybox", "cat", "notes.txt"])',
    build: (k) => {
      const bin = k.container().from("busybox").file("/bin/busybox");
      return {
        result: k
          .container()
          .withRootfs(k.directory().withFile("/bin/busybox", bin))
          .withWorkdir("/work")
          .withNewFile("notes.txt", "n")
          .withExec(["/bin/busybox", "cat", "notes.txt"])
          .directory("/"),
      };
    },
  },
  "file-made-by-exec": {
    chain:
      'from("busybox").withWorkdir("/out").withExec(["sh", "-c", "date > stamp"]).file("stamp")',
    build: (k) => ({
      result: k
        .container()
        .from("busybox")
        .withWorkdir("/out")
        .withExec(["sh", "-c", "date > stamp"])
        .file("stamp"),
    }),
  },
};

/** The output and path a case compiles to. */
export function compiled(result: Directory | File): { output: Output; path: string } {
  if (!result.output) throw new Error("the case's result is an empty filesystem");
  return { output: result.output, path: result.path };
}
