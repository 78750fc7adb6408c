/**
 * web-api-db: a static front end served by nginx, a Node.js API and PostgreSQL 15.
 *
 * The three images are built from the Dockerfiles beside this file (web/, api/, db/), the
 * same ones compose.yaml builds, so `hln up` and `docker compose up` run the same images.
 * hln builds them in one concurrent run. Deploy order: db (healthy) -> the migrate job
 * (schema and a first row; it must exit 0) -> api (healthy) -> web.
 *
 *   WEB_API_DB_PASSWORD=... hln up -s web-api-db
 *   curl http://127.0.0.1:8080/api/items
 *
 * Every package comes from Debian's apt: the api and the migration talk to PostgreSQL
 * through psql (postgresql-client), so no npm registry, driver or compiler is involved.
 *
 * The password is a secret input: PostgreSQL's initdb, the migration and the API read it
 * from the file /run/secrets/db-password, never from the environment or an image. It is
 * read only when the database is first made; changing it later means `hln down --volumes`.
 * `greeting` reaches only the api: changing it recreates the api and nothing else.
 *
 * On a swarm (`hln up` against a swarm manager), `apiReplicas` runs the api as that many
 * tasks, and a change rolls them out one at a time, each new task healthy before an old
 * one stops; nginx asks Docker's DNS for the api's tasks every second.
 */
import { join } from "node:path";
import { defineStack } from "hln";

export default defineStack({
  name: "web-api-db",
  version: "0.1.0",
  description: "nginx serving a static page, a Node.js API and PostgreSQL 15, with a migration job",
  tags: ["web", "api", "postgres", "nginx", "node"],
  inputs: {
    port: { type: "number", default: 8080, description: "host port of the front end (127.0.0.1)" },
    dbPassword: {
      type: "secret",
      env: "WEB_API_DB_PASSWORD",
      description: "PostgreSQL password, used when the database is first made",
    },
    greeting: {
      type: "string",
      default: "hello",
      description: "what GET /api/items says beside the rows (reaches the api only)",
    },
    apiReplicas: {
      type: "number",
      default: 1,
      description: "api tasks on a swarm, rolled out start-first (a single engine runs one)",
    },
  },
  actions: {
    async up({ dag, inputs, app, stackDirectory }) {
      const context = (dir: string) => dag.host().directory(join(stackDirectory, dir));
      const [web, api, postgres] = await Promise.all([
        context("web").dockerBuild(),
        context("api").dockerBuild(),
        context("db").dockerBuild(),
      ]);
      const password = { "/run/secrets/db-password": inputs.dbPassword };

      const db = app.service("db", postgres, {
        volumes: { "/var/lib/postgresql/data": app.volume("db-data") },
        secrets: password,
        healthcheck: {
          test: ["pg_isready", "--host=127.0.0.1", "--username=postgres", "--dbname=app"],
          interval: "1s",
          timeout: "3s",
          retries: 60,
        },
      });
      const dbEnv = { DB_HOST: db.hostname, DB_NAME: "app", DB_USER: "postgres" };
      // The API's image holds the migration too: the app owns its schema.
      app.job("migrate", api, {
        command: ["node", "migrate.js"],
        env: dbEnv,
        secrets: password,
        dependsOn: { db: "healthy" },
      });
      app.service("api", api, {
        replicas: inputs.apiReplicas,
        env: { ...dbEnv, GREETING: inputs.greeting },
        secrets: password,
        dependsOn: { db: "healthy", migrate: "completed" },
        healthcheck: {
          // No curl or wget in the image: node asks.
          test: [
            "node",
            "-e",
            "require('http').get('http://127.0.0.1:3000/api/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))",
          ],
          interval: "1s",
          // Each check starts node, and the api starts psql: seconds each on a loaded host.
          timeout: "10s",
          retries: 30,
        },
      });
      app.service("web", web, {
        ports: [{ host: inputs.port, container: 80 }],
        dependsOn: { api: "healthy" },
        healthcheck: {
          // bash's /dev/tcp: the image has no HTTP client.
          test: [
            "bash",
            "-c",
            "exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '",
          ],
          interval: "1s",
          timeout: "3s",
          retries: 30,
        },
      });
      return { url: `http://127.0.0.1:${inputs.port}` };
    },
  },
});
