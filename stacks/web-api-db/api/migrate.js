// The schema and its first row. Every statement may run again: the job runs whenever its
// image changes, on a database that may already hold them.
import { connect } from "./db.js";

const db = connect();
try {
  // One psql run, one transaction: the table and its row appear together or not at all.
  const added = await db.query(
    `BEGIN;
CREATE TABLE IF NOT EXISTS items (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
WITH added AS (
  INSERT INTO items (name) VALUES (:'name') ON CONFLICT (name) DO NOTHING RETURNING 1
)
SELECT count(*) FROM added;
COMMIT;`,
    { name: "the first row, from PostgreSQL" },
  );
  console.log(`migrate: schema ready, ${added} row(s) added`);
} finally {
  db.end();
}
