// The API: GET /api/items reads the items table; GET /api/healthz answers once the
// database does. It listens on PORT (default 3000) and says GREETING with every answer.
import { createServer } from "node:http";
import { connect } from "./db.js";

const port = Number(process.env.PORT ?? 3000);
const greeting = process.env.GREETING ?? "hello";
const pool = connect();

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  try {
    if (req.method === "GET" && path === "/api/healthz") {
      await pool.query("SELECT 1");
      return send(res, 200, { ok: true });
    }
    if (req.method === "GET" && path === "/api/items") {
      const { rows } = await pool.query("SELECT id, name, created_at FROM items ORDER BY id");
      return send(res, 200, { greeting, items: rows });
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
    pool.end().finally(() => process.exit(0));
  });
}
