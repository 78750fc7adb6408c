#!/usr/bin/env node
// What the test suite leaves behind on this machine: `snapshot FILE` records the main Docker
// engine's containers, images (dangling ones by ID), networks and volumes and the
// /tmp/hln-* folders; `compare FILE` lists what is there now and was not then, and exits 1
// if anything is. Each test removes what it made; this is the check that they all did.
// Plain Node on purpose: it runs before and after the suite, where no build is needed.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";

const socketPath = process.env.HLN_ENGINE_SOCK ?? "/var/run/docker.sock";

function get(path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: 30_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body))
          : reject(
              new Error(`GET ${path} on ${socketPath}: HTTP ${res.statusCode} ${body.trim()}`),
            ),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} on ${socketPath}: no answer`)));
    req.on("error", reject);
    req.end();
  });
}

async function inventory() {
  const [containers, images, networks, volumes] = await Promise.all([
    get("/containers/json?all=1"),
    get("/images/json"),
    get("/networks"),
    get("/volumes"),
  ]);
  const items = [
    ...containers.map((c) => `container ${c.Names[0]?.replace(/^\//, "")} (${c.Image})`),
    ...images.flatMap((i) =>
      i.RepoTags?.length ? i.RepoTags.map((t) => `image ${t}`) : [`dangling image ${i.Id}`],
    ),
    ...networks.map((n) => `network ${n.Name}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
    ...readdirSync("/tmp")
      .filter((n) => n.startsWith("hln-"))
      .map((n) => `folder /tmp/${n}`),
  ];
  return [...new Set(items)].sort();
}

const [mode, file] = process.argv.slice(2);
if ((mode !== "snapshot" && mode !== "compare") || !file) {
  process.stderr.write("usage: leftovers.mjs snapshot|compare FILE\n");
  process.exit(2);
}
try {
  const now = await inventory();
  if (mode === "snapshot") {
    writeFileSync(file, `${now.join("\n")}\n`);
  } else {
    const before = new Set(readFileSync(file, "utf8").split("\n"));
    const left = now.filter((i) => !before.has(i));
    if (left.length === 0) {
      console.log("leftovers: none (containers, images, networks, volumes, /tmp/hln-*)");
    } else {
      console.log(`leftovers: the tests left ${left.length} thing(s) behind:`);
      for (const i of left) console.log(`  ${i}`);
      process.exitCode = 1;
    }
  }
} catch (err) {
  process.stderr.write(`leftovers: ${err.message}\n`);
  process.exit(1);
}
