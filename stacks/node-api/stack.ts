/**
 * node-api: a Node.js HTTP service, from source to a running container.
 *
 * `dir` (default: the working directory) is the service. When it is empty or missing, a
 * small service is written into it first: package.json, app.js with GET / and GET
 * /healthz, server.js, a node:test test and a .gitignore. When it holds something, that
 * is what runs. `up` then installs the dependencies (npm ci when there is a lockfile),
 * runs `npm test` (a failing test fails the run), builds the runtime image (Debian's
 * Node.js 18, the production dependencies, no npm) and deploys it as the service `api`
 * with a health check on GET /healthz. The service listens on port 3000 in its container
 * and starts with `node .` (package.json "main").
 *
 *   mkdir my-api && cd my-api && hln up -s node-api
 *   curl http://127.0.0.1:3000/
 *
 * The image is built from the Dockerfile beside this file, which compose.yaml builds too.
 */
import { join } from "node:path";
import { type Dag, defineStack } from "hln";
import { packageName, scaffoldFiles, serviceDirectory } from "./scaffold.js";

/** Paths of the service's directory that never reach the build. */
const excluded = ["node_modules", ".git", ".hln-build"];

export default defineStack({
  name: "node-api",
  version: "0.1.0",
  description:
    "A Node.js HTTP service: scaffolded when the directory is empty, tested and deployed with a health check",
  tags: ["node", "api", "http"],
  inputs: {
    dir: {
      type: "path",
      default: ".",
      mustExist: false,
      description: "the service's directory; an empty or missing one gets a small service",
    },
    port: { type: "number", default: 3000, description: "host port of the service (127.0.0.1)" },
    caCertificates: {
      type: "path",
      required: false,
      env: "NODE_EXTRA_CA_CERTS",
      description:
        "extra CA certificates (PEM) npm trusts while building, for a proxy that re-signs TLS; never in the image that runs",
    },
  },
  actions: {
    async up({ dag, inputs, app, stackDirectory }) {
      if ((await serviceDirectory(inputs.dir)) === "empty") await scaffold(dag, inputs.dir);
      // The stack's Dockerfile (and the CA file) join the service's files under
      // .hln-build/, which the Dockerfile keeps out of the image.
      let context = dag
        .host()
        .directory(inputs.dir, { exclude: excluded })
        .withFile(".hln-build/Dockerfile", dag.host().file(join(stackDirectory, "Dockerfile")));
      if (inputs.caCertificates)
        context = context.withFile(
          ".hln-build/extra-ca.pem",
          dag.host().file(inputs.caCertificates),
        );
      const image = await context.dockerBuild({ dockerfile: ".hln-build/Dockerfile" });
      app.service("api", image, {
        ports: [{ host: inputs.port, container: 3000 }],
        healthcheck: {
          // No curl or wget in the image: node asks.
          test: [
            "node",
            "-e",
            "require('http').get('http://127.0.0.1:3000/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))",
          ],
          interval: "1s",
          timeout: "3s",
          retries: 30,
        },
      });
      return { url: `http://127.0.0.1:${inputs.port}` };
    },

    /** Writes the small service into `dir` when it is empty, and deploys nothing. */
    async scaffold({ dag, inputs }) {
      if ((await serviceDirectory(inputs.dir)) === "service")
        return { dir: inputs.dir, written: [], note: "a service is there already: left as it is" };
      return { dir: inputs.dir, written: await scaffold(dag, inputs.dir) };
    },
  },
});

/** Writes the scaffold's files into `dir` (made when missing); resolves with their paths. */
async function scaffold(dag: Dag, dir: string): Promise<string[]> {
  const files = scaffoldFiles(packageName(dir));
  let tree = dag.directory();
  for (const [path, text] of Object.entries(files)) tree = tree.withNewFile(path, text);
  await tree.export(dir);
  return Object.keys(files);
}
