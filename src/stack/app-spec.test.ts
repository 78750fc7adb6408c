import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Container } from "../sdk/container.js";
import { secretFromValue } from "../sdk/secret.js";
import { type AppRecorder, createAppRecorder } from "./app-spec.js";
import { defineStack } from "./define-stack.js";

// Declaring never looks inside the Container: any instance stands for an image to build.
const image = Object.create(Container.prototype) as Container;
const password = secretFromValue("password", "hunter2");

/** Expects E_STACK_INVALID with exactly `message`. */
function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, "E_STACK_INVALID");
    assert.equal(err.message, message);
    return true;
  });
}

/** Declares through `declare`, then expects spec() to fail with `message`. */
function specRejects(declare: (r: AppRecorder) => void, message: string): void {
  const r = createAppRecorder();
  declare(r);
  rejects(() => r.spec(), message);
}

describe("createAppRecorder", () => {
  it("normalises a declaration: sorted, defaulted, in Docker's terms", () => {
    const { app, spec } = createAppRecorder();
    const data = app.volume("db-data");
    const db = app.service("db", image, {
      env: { Z: "1", A: "2" },
      secrets: { "/run/secrets/z": password, "/run/secrets/a": password },
      volumes: { "/var/lib/db": data, "/etc/conf": { source: "/srv/conf", readOnly: true } },
      healthcheck: {
        test: ["pg_isready", "-U", "x"],
        interval: "1s",
        timeout: "500ms",
        retries: 60,
        startPeriod: "2m",
      },
      ports: [{ host: 5432, container: 5432 }],
    });
    assert.deepEqual(db, { name: "db", hostname: "db", kind: "service" });
    const migrate = app.job("migrate", image, { dependsOn: { db: "healthy" }, command: ["m"] });
    assert.equal(migrate.kind, "job");
    app.service("api", image, {
      dependsOn: { migrate: "completed", db: "started" },
      healthcheck: { test: "wget -qO- localhost" },
      ports: [{ host: 53, container: 53, ip: "0.0.0.0", protocol: "udp" }],
      restart: "on-failure",
      entrypoint: ["/bin/api"],
      user: "1000:1000",
      workdir: "/app",
    });
    app.volume("cache");
    app.volume("db-data");
    const s = spec();
    assert.deepEqual(s.volumes, ["cache", "db-data"]);
    assert.deepEqual(
      s.services.map((x) => x.name),
      ["db", "migrate", "api"],
    );
    const [d, m, a] = s.services;
    assert.deepEqual(Object.keys(d!.env), ["A", "Z"]);
    assert.deepEqual(
      d!.secrets.map((x) => x.path),
      ["/run/secrets/a", "/run/secrets/z"],
    );
    assert.equal(d!.secrets[0]!.secret, password);
    assert.deepEqual(d!.volumes, [
      { path: "/etc/conf", source: { hostPath: "/srv/conf" }, readOnly: true },
      { path: "/var/lib/db", source: { volume: "db-data" }, readOnly: false },
    ]);
    assert.deepEqual(d!.ports, [{ host: 5432, container: 5432, ip: "127.0.0.1", protocol: "tcp" }]);
    assert.deepEqual(d!.healthcheck, {
      test: ["CMD", "pg_isready", "-U", "x"],
      intervalMs: 1000,
      timeoutMs: 500,
      retries: 60,
      startPeriodMs: 120_000,
    });
    assert.equal(d!.restart, "unless-stopped");
    assert.equal(d!.container, image);
    assert.deepEqual(d!.dependsOn, []);
    assert.equal(m!.restart, "no");
    assert.deepEqual(m!.command, ["m"]);
    assert.deepEqual(a!.dependsOn, [
      { name: "db", condition: "started" },
      { name: "migrate", condition: "completed" },
    ]);
    assert.deepEqual(a!.healthcheck, { test: ["CMD-SHELL", "wget -qO- localhost"] });
    assert.deepEqual(a!.ports, [{ host: 53, container: 53, ip: "0.0.0.0", protocol: "udp" }]);
    assert.equal(a!.restart, "on-failure");
    assert.deepEqual(a!.entrypoint, ["/bin/api"]);
    assert.equal(a!.user, "1000:1000");
    assert.equal(a!.workdir, "/app");
    assert.equal("command" in a!, false);
    for (const x of [d!, m!, a!]) {
      assert.equal(x.replicas, 1);
      assert.deepEqual(x.placement, []);
      assert.equal("update" in x, false);
    }
  });

  it("records the swarm options: replicas, update, placement", () => {
    const { app, spec } = createAppRecorder();
    app.service("api", image, {
      replicas: 3,
      update: { order: "start-first", parallelism: 0, delay: "1m30s", failureAction: "rollback" },
      placement: ["node.role == manager", " node.labels.db!=no ", "engine.labels.zone==EU-1"],
    });
    app.service("web", image, { replicas: 1000, update: { delay: "0s" } });
    app.service("cache", image, { update: {} });
    app.job("migrate", image, { placement: ["node.hostname==a"] });
    const [api, web, cache, migrate] = spec().services;
    assert.equal(api!.replicas, 3);
    assert.deepEqual(api!.update, {
      order: "start-first",
      parallelism: 0,
      delayMs: 90_000,
      failureAction: "rollback",
    });
    assert.deepEqual(api!.placement, [
      "node.role==manager",
      "node.labels.db!=no",
      "engine.labels.zone==EU-1",
    ]);
    assert.equal(web!.replicas, 1000);
    assert.deepEqual(web!.update, { delayMs: 0 });
    assert.deepEqual(cache!.update, {});
    assert.equal(migrate!.replicas, 1);
    assert.equal("update" in migrate!, false);
    assert.deepEqual(migrate!.placement, ["node.hostname==a"]);
  });

  it("keeps what it recorded when the stack changes its objects later", () => {
    const { app, spec } = createAppRecorder();
    const env = { A: "1" };
    const command = ["a"];
    const placement = ["node.role==manager"];
    const update = { parallelism: 1 };
    app.service("web", image, { env, command, placement, update });
    env.A = "2";
    command.push("b");
    placement.push("node.hostname==b");
    update.parallelism = 5;
    assert.deepEqual(spec().services[0]!.env, { A: "1" });
    assert.deepEqual(spec().services[0]!.command, ["a"]);
    assert.deepEqual(spec().services[0]!.placement, ["node.role==manager"]);
    assert.deepEqual(spec().services[0]!.update, { parallelism: 1 });
  });

  it("checks names at the call", () => {
    const { app } = createAppRecorder();
    for (const bad of ["Web", "-web", "web-", "we_b", "", "a".repeat(64)])
      rejects(
        () => app.service(bad, image),
        `service ${JSON.stringify(bad)}: the name must be a lowercase DNS label: a-z, 0-9 and -, at most 63 characters, no - at either end`,
      );
    app.service("a".repeat(63), image);
    app.service("web", image);
    rejects(() => app.job("web", image), 'job "web": the name is already taken by service "web"');
    rejects(
      () => app.service("web", image),
      'service "web": the name is already taken by service "web"',
    );
    rejects(
      () => app.volume("Data"),
      'volume "Data": the name must be a lowercase DNS label: a-z, 0-9 and -, at most 63 characters, no - at either end',
    );
  });

  it("wants a Container", () => {
    const { app } = createAppRecorder();
    rejects(
      () => app.service("web", "nginx" as never),
      'service "web": expected a Container (from dag.container()), got a string ("nginx")',
    );
    rejects(
      () => app.job("m", Promise.resolve(image) as never),
      'job "m": expected a Container (from dag.container()), got an object; pass the Container, not a promise',
    );
  });

  it("checks each option at the call", () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { ports: [{ host: 0, container: 80 }] },
        "ports[0].host: expected a port number from 1 to 65535, got a number (0)",
      ],
      [
        { ports: [{ host: 80, container: 65536 }] },
        "ports[0].container: expected a port number from 1 to 65535, got a number (65536)",
      ],
      [
        { ports: [{ host: 80.5, container: 80 }] },
        "ports[0].host: expected a port number from 1 to 65535, got a number (80.5)",
      ],
      [
        { ports: [{ host: "80", container: 80 }] },
        'ports[0].host: expected a port number from 1 to 65535, got a string ("80")',
      ],
      [
        { ports: [{ host: 80, container: 80, ip: "localhost" }] },
        'ports[0].ip: expected an IP address such as 127.0.0.1 or 0.0.0.0, got a string ("localhost")',
      ],
      [
        { ports: [{ host: 80, container: 80, protocol: "sctp" }] },
        'ports[0].protocol: expected "tcp" or "udp", got a string ("sctp")',
      ],
      [
        { secrets: { "run/x": password } },
        'secrets["run/x"]: "run/x" is not an absolute path in the container',
      ],
      [
        { secrets: { "/run/x": "hunter2" } },
        'secrets["/run/x"]: expected a Secret (a secret input, or dag.setSecret()), got a string ("hunter2")',
      ],
      [
        { volumes: { data: "/srv" } },
        'volumes.data: "data" is not an absolute path in the container',
      ],
      [
        { volumes: { "/": "/srv" } },
        'volumes["/"]: nothing can be mounted over the container\'s /',
      ],
      [{ volumes: { "/data": "./data" } }, 'volumes["/data"]: host path "./data" is not absolute'],
      [
        { volumes: { "/data": { source: "data" } } },
        'volumes["/data"]: host path "data" is not absolute',
      ],
      [
        { volumes: { "/data": { kind: "volume", name: "other" } } },
        'volumes["/data"]: volume "other" was not declared with app.volume()',
      ],
      [
        { volumes: { "/data": { source: "/srv", readOnly: "yes" } } },
        'volumes["/data"].readOnly: expected true or false, got a string ("yes")',
      ],
      [
        { secrets: { "/x": password }, volumes: { "/x": "/srv" } },
        'volumes["/x"]: /x is also a secret\'s path',
      ],
      [
        { healthcheck: { test: ["true"], interval: "1x" } },
        'healthcheck.interval: expected a duration such as 500ms, 1s or 2m, got a string ("1x")',
      ],
      [
        { healthcheck: { test: ["true"], timeout: 5 } },
        "healthcheck.timeout: expected a duration such as 500ms, 1s or 2m, got a number (5)",
      ],
      [
        { healthcheck: { test: ["true"], startPeriod: "0s" } },
        'healthcheck.startPeriod: expected a duration such as 500ms, 1s or 2m, got a string ("0s")',
      ],
      [
        { healthcheck: { test: ["true"], retries: 0 } },
        "healthcheck.retries: expected a positive integer, got a number (0)",
      ],
      [
        { healthcheck: { test: ["true"], retries: 1.5 } },
        "healthcheck.retries: expected a positive integer, got a number (1.5)",
      ],
      [{ healthcheck: { test: [] } }, "healthcheck.test: the command is empty"],
      [
        { healthcheck: { test: ["true"], intervall: "1s" } },
        'healthcheck: unknown field "intervall" (fields: test, interval, timeout, retries, startPeriod)',
      ],
      [
        { env: { PORT: 8080 } },
        "env.PORT: expected a string, got a number (8080); write String(8080)",
      ],
      [{ env: { "A=B": "x" } }, 'env key "A=B" is not a variable name'],
      [
        { restart: "sometimes" },
        'restart: expected one of no, always, unless-stopped, on-failure, got a string ("sometimes")',
      ],
      [
        { dependsOn: { db: "ready" } },
        'dependsOn.db: expected "started", "healthy" or "completed", got a string ("ready")',
      ],
      [{ command: "nginx -g" }, 'command: expected a list of strings, got a string ("nginx -g")'],
      [{ workdir: "app" }, 'workdir: "app" is not an absolute path in the container'],
      [
        { dependson: {} },
        'unknown option "dependson" (options: env, secrets, ports, volumes, command, entrypoint, user, workdir, healthcheck, dependsOn, restart, replicas, update, placement)',
      ],
      [{ replicas: 0 }, "replicas: expected a whole number from 1 to 1000, got a number (0)"],
      [{ replicas: 1001 }, "replicas: expected a whole number from 1 to 1000, got a number (1001)"],
      [{ replicas: 1.5 }, "replicas: expected a whole number from 1 to 1000, got a number (1.5)"],
      [{ replicas: "2" }, 'replicas: expected a whole number from 1 to 1000, got a string ("2")'],
      [{ replicas: null }, "replicas: expected a whole number from 1 to 1000, got null"],
      [
        { update: "rolling" },
        'update: expected { order?, parallelism?, delay?, failureAction? }, got a string ("rolling")',
      ],
      [
        { update: [] },
        "update: expected { order?, parallelism?, delay?, failureAction? }, got a list",
      ],
      [
        { update: { monitor: "5s" } },
        'update: unknown field "monitor" (fields: order, parallelism, delay, failureAction)',
      ],
      [
        { update: { order: "rolling" } },
        'update.order: expected "start-first" or "stop-first", got a string ("rolling")',
      ],
      [
        { update: { parallelism: -1 } },
        "update.parallelism: expected a whole number, 0 or more (0: all at once), got a number (-1)",
      ],
      [
        { update: { parallelism: 0.5 } },
        "update.parallelism: expected a whole number, 0 or more (0: all at once), got a number (0.5)",
      ],
      [
        { update: { parallelism: "2" } },
        'update.parallelism: expected a whole number, 0 or more (0: all at once), got a string ("2")',
      ],
      [
        { update: { delay: "2x" } },
        'update.delay: expected a duration such as 500ms, 1s or 2m, got a string ("2x")',
      ],
      [
        { update: { delay: 2000 } },
        "update.delay: expected a duration such as 500ms, 1s or 2m, got a number (2000)",
      ],
      [
        { update: { failureAction: "continue" } },
        'update.failureAction: expected "rollback" or "pause", got a string ("continue")',
      ],
      [
        { placement: "node.role == manager" },
        'placement: expected a list of constraints such as "node.role == manager", got a string ("node.role == manager")',
      ],
      [
        { placement: [1] },
        'placement[0]: expected "<attribute> == <value>" or "<attribute> != <value>", got a number (1)',
      ],
      [
        { placement: ["node.role==manager", "node.role = worker"] },
        'placement[1]: expected "<attribute> == <value>" or "<attribute> != <value>", got a string ("node.role = worker")',
      ],
      [
        { placement: ["role == manager"] },
        'placement[0]: "role" is not a node attribute; use node.role, node.hostname, node.id, node.platform.os, node.platform.arch, node.labels.NAME or engine.labels.NAME',
      ],
      [
        { placement: ["node.labels. == x"] },
        'placement[0]: "node.labels." is not a node attribute; use node.role, node.hostname, node.id, node.platform.os, node.platform.arch, node.labels.NAME or engine.labels.NAME',
      ],
      [
        { placement: ["engine.labels != x"] },
        'placement[0]: "engine.labels" is not a node attribute; use node.role, node.hostname, node.id, node.platform.os, node.platform.arch, node.labels.NAME or engine.labels.NAME',
      ],
      [{ placement: [" == manager"] }, "placement[0]: no attribute before =="],
      [
        { placement: ["node.labels.my label == x"] },
        'placement[0]: attribute "node.labels.my label" may hold only letters, digits, -, _ and .',
      ],
      [{ placement: ["node.role == "] }, "placement[0]: no value after =="],
      [
        { placement: ["node.labels.zone != a,b"] },
        'placement[0]: value "a,b" holds a character swarm refuses (it takes letters, digits, spaces and : - _ . * ( ) ? + [ ] \\ ^ $ | /)',
      ],
      [
        // Swarm splits at the first "==" before looking for "!=".
        { placement: ["node.labels.a != b==c"] },
        'placement[0]: attribute "node.labels.a != b" may hold only letters, digits, -, _ and .',
      ],
    ];
    for (const [options, message] of cases) {
      const { app } = createAppRecorder();
      app.volume("data");
      rejects(() => app.service("web", image, options as never), `service "web": ${message}`);
    }
  });

  it("gives jobs no ports, health check or restart policy", () => {
    const { app } = createAppRecorder();
    rejects(() => app.job("m", image, { ports: [] } as never), 'job "m": a job takes no ports');
    rejects(
      () => app.job("m", image, { restart: "always" } as never),
      'job "m": a job takes no restart',
    );
    rejects(
      () => app.job("m", image, { replicas: 2 } as never),
      'job "m": a job takes no replicas',
    );
    rejects(() => app.job("m", image, { update: {} } as never), 'job "m": a job takes no update');
    rejects(
      () => app.job("m", image, { placement: ["node.role"] }),
      'job "m": placement[0]: expected "<attribute> == <value>" or "<attribute> != <value>", got a string ("node.role")',
    );
    rejects(
      () => app.job("m", image, { dependson: {} } as never),
      'job "m": unknown option "dependson" (options: env, secrets, volumes, command, entrypoint, user, workdir, dependsOn, placement)',
    );
  });

  it("checks dependsOn against every declaration once the action returned", () => {
    specRejects(({ app }) => {
      app.service("db", image);
      app.job("migrate", image);
      app.service("api", image, { dependsOn: { dbb: "started" } });
      app.service("web", image);
    }, 'service "api": dependsOn "dbb": no service or job of that name (declared: db, migrate, web)');
    specRejects(({ app }) => {
      app.service("db", image);
      app.service("api", image, { dependsOn: { db: "completed" } });
    }, 'service "api": dependsOn "db": "completed" is for jobs, and "db" is a service (use "started" or "healthy")');
    specRejects(({ app }) => {
      app.job("migrate", image);
      app.service("api", image, { dependsOn: { migrate: "healthy" } });
    }, 'service "api": dependsOn "migrate": "healthy" is for services, and "migrate" is a job (use "completed")');
    specRejects(({ app }) => {
      app.service("db", image);
      app.job("migrate", image, { dependsOn: { db: "healthy" } });
    }, 'job "migrate": dependsOn "db": service "db" has no healthcheck to be healthy by (give it one, or use "started")');
    specRejects(({ app }) => {
      app.service("api", image, { dependsOn: { api: "started" } });
    }, 'service "api": dependsOn itself');
  });

  it("finds a dependsOn cycle", () => {
    specRejects(({ app }) => {
      app.service("web", image, { dependsOn: { api: "started" } });
      app.service("api", image, { dependsOn: { db: "started" } });
      app.service("db", image, { dependsOn: { api: "started" } });
    }, "dependsOn cycle: api -> db -> api");
  });

  it("finds two services publishing one host port", () => {
    specRejects(({ app }) => {
      app.service("a", image, { ports: [{ host: 8080, container: 80 }] });
      app.service("b", image, { ports: [{ host: 8080, container: 81 }] });
    }, 'services "a" and "b" both publish 127.0.0.1:8080/tcp');
    specRejects(({ app }) => {
      app.service("a", image, { ports: [{ host: 8080, container: 80, ip: "0.0.0.0" }] });
      app.service("b", image, { ports: [{ host: 8080, container: 81 }] });
    }, 'services "a" (0.0.0.0:8080/tcp) and "b" (127.0.0.1:8080/tcp) both take host port 8080');
    specRejects(({ app }) => {
      app.service("a", image, {
        ports: [
          { host: 8080, container: 80 },
          { host: 8080, container: 81 },
        ],
      });
    }, 'service "a": publishes 127.0.0.1:8080/tcp twice');
    // Another protocol or another address is another socket.
    const { app, spec } = createAppRecorder();
    app.service("a", image, { ports: [{ host: 53, container: 53 }] });
    app.service("b", image, { ports: [{ host: 53, container: 53, protocol: "udp" }] });
    app.service("c", image, { ports: [{ host: 53, container: 53, ip: "127.0.0.2" }] });
    assert.equal(spec().services.length, 3);
  });

  it("refuses declarations after spec(): the action has returned by then", () => {
    const { app, spec } = createAppRecorder();
    spec();
    rejects(
      () => app.service("late", image),
      'service "late": declared after the action returned; await it inside the action',
    );
  });
});

/**
 * Checked by `tsc --noEmit`: each `@ts-expect-error` fails the type check when the line
 * under it stops being an error. Never run: the action only has to type-check.
 */
export const typed = defineStack({
  name: "typed",
  version: "0.1.0",
  inputs: { password: { type: "secret" } },
  actions: {
    up({ dag, app, inputs }) {
      const c = dag.container().from("busybox");
      const data = app.volume("data");
      const db = app.service("db", c, {
        secrets: { "/run/secrets/pw": inputs.password },
        volumes: { "/data": data, "/etc/x": { source: "/srv/x", readOnly: true } },
        healthcheck: { test: ["true"], interval: "1s" },
      });
      app.job("migrate", c, { dependsOn: { [db.name]: "healthy" } });
      // @ts-expect-error a misspelt option
      app.service("api", c, { dependson: { db: "healthy" } });
      // @ts-expect-error a condition that does not exist
      app.service("api", c, { dependsOn: { db: "ready" } });
      // @ts-expect-error jobs publish no ports
      app.job("seed", c, { ports: [{ host: 1, container: 1 }] });
      // @ts-expect-error a restart policy Docker does not have
      app.service("web", c, { restart: "sometimes" });
      // @ts-expect-error env values are strings
      app.service("web", c, { env: { PORT: 8080 } });
      // @ts-expect-error a secret is a Secret, not its value
      app.service("web", c, { secrets: { "/run/x": "hunter2" } });
      // @ts-expect-error a Container, not an image name
      app.service("web", "nginx");
      app.service("web", c, {
        replicas: 2,
        update: { order: "start-first", parallelism: 1, delay: "2s", failureAction: "rollback" },
        placement: ["node.role == manager"],
      });
      app.job("once", c, { placement: ["node.hostname == a"] });
      // @ts-expect-error a job runs once: no replicas
      app.job("seed", c, { replicas: 2 });
      // @ts-expect-error a job is never rolled out
      app.job("seed", c, { update: { order: "start-first" } });
      // @ts-expect-error an update order Docker does not have
      app.service("web", c, { update: { order: "rolling" } });
      // @ts-expect-error "continue" is Docker's, but hln offers rollback or pause
      app.service("web", c, { update: { failureAction: "continue" } });
      // @ts-expect-error replicas is a number
      app.service("web", c, { replicas: "2" });
      return { host: db.hostname };
    },
  },
});
