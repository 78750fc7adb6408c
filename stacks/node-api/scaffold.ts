/**
 * The small HTTP service node-api writes into an empty directory: no dependencies, routes in
 * app.js (so tests start it on any port), server.js that listens, and a node:test test.
 * Written as files here rather than shipped as a template directory, because npm drops
 * `.gitignore` and `package-lock.json` from the packages it publishes, and hln's are.
 */
import { readdir } from "node:fs/promises";
import { basename } from "node:path";

/** An npm package name from the directory's name, else `node-api`. */
export function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "");
  return name.length > 0 && name.length <= 214 ? name : "node-api";
}

/**
 * What `dir` holds: nothing to build yet (missing, empty, or only `.git`, a repository
 * made with `git init` just before), or a Node.js service (a package.json). Anything else
 * is refused in one line, so that `hln up -s node-api` run from the wrong directory does
 * not send, say, a whole home directory to the engine.
 */
export async function serviceDirectory(dir: string): Promise<"empty" | "service"> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "empty";
    if (code === "ENOTDIR") throw new Error(`dir ${dir} is a file, not a directory`);
    throw err;
  }
  if (entries.every((e) => e === ".git")) return "empty";
  if (entries.includes("package.json")) return "service";
  throw new Error(
    `dir ${dir} holds no package.json: give a Node.js service's directory, or an empty one to get a small service`,
  );
}

/** The service's files, by path relative to its directory. */
export function scaffoldFiles(name: string): Record<string, string> {
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    main: "server.js",
    scripts: { start: "node server.js", test: "node --test" },
    engines: { node: ">=18" },
  };
  // What `npm install --package-lock-only` writes for a package without dependencies, so
  // that the build runs `npm ci`.
  const lock = {
    name,
    version: pkg.version,
    lockfileVersion: 3,
    requires: true,
    packages: { "": { name, version: pkg.version, engines: pkg.engines } },
  };
  return {
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    "package-lock.json": `${JSON.stringify(lock, null, 2)}\n`,
    "app.js": appJs,
    "server.js": serverJs,
    "test/app.test.js": testJs,
    ".gitignore": "node_modules/\n",
    ".dockerignore": "node_modules\n.git\n",
  };
}

const appJs = `// The service's routes, apart from listening, so that tests can run it on any port.
import { createServer } from "node:http";

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(\`\${JSON.stringify(body)}\\n\`);
}

export function createApp() {
  return createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && pathname === "/healthz") return send(res, 200, { ok: true });
    if (req.method === "GET" && pathname === "/") {
      return send(res, 200, { message: "hello from node-api", time: new Date().toISOString() });
    }
    send(res, 404, { error: \`no route \${req.method} \${pathname}\` });
  });
}
`;

const serverJs = `import { createApp } from "./app.js";

const port = Number(process.env.PORT ?? 3000);
const server = createApp().listen(port, () => console.log(\`listening on :\${port}\`));

// PID 1 in a container: without this, docker stop waits its whole timeout, then kills.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
`;

const testJs = `import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { createApp } from "../app.js";

async function get(path) {
  const server = createApp().listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const res = await fetch(\`http://127.0.0.1:\${server.address().port}\${path}\`);
    return { status: res.status, body: await res.json() };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test("GET /healthz answers ok", async () => {
  assert.deepEqual(await get("/healthz"), { status: 200, body: { ok: true } });
});

test("GET / says hello", async () => {
  const { status, body } = await get("/");
  assert.equal(status, 200);
  assert.equal(body.message, "hello from node-api");
});

test("an unknown path is a 404", async () => {
  assert.equal((await get("/nope")).status, 404);
});
`;
