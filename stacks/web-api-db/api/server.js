// The API: GET /api/items reads the items table; GET /api/healthz answers once the
// database does. It listens on PORT (default 3000) and says GREETING with every answer.
import { createServer } from "node:http";
import { connect } from "./db.js";

const port = Number(process.env.PORT ?? 3000);
const greeting = process.env.GREETING ?? "hello";
const db = connect();

// PostgreSQL builds the JSON (one line of psql output). created_at is written as JavaScript's
// Date.toJSON would (UTC, milliseconds), as the API answered when it used the pg driver.
const itemsQuery = `SELECT coalesce(json_agg(json_build_object(
  'id', id,
  'name', name,
  'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
) ORDER BY id), '[]') FROM items;`;

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  try {
    if (req.method === "GET" && path === "/api/healthz") {
      await db.query("SELECT 1;");
      return send(res, 200, { ok: true });
    }
    if (req.method === "GET" && path === "/api/items") {
      const items = JSON.parse(await db.query(itemsQuery));
      return send(res, 200, { greeting, items });
    }
    send(res, 404, { error: `no route ${req.method} ${path}` });
  } catch (err) {
    console.error(`${req.method} ${path}: ${err.message}`);
    send(res, 503, { error: "database unavailable" });
  }
});

server.listen(port, () => console.log(`api listening on :${port}`));

// PID 1 in the container: without this, docker stop waits its full timeout, then kills.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    db.end();
    process.exit(0);
  });
}
