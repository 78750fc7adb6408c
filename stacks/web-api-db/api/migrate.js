// The schema and its first row. Every statement may run again: the job runs whenever its
// image changes, on a database that may already hold them.
import { connect } from "./db.js";

const pool = connect();
try {
  await pool.query(`CREATE TABLE IF NOT EXISTS items (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rowCount } = await pool.query(
    "INSERT INTO items (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
    ["the first row, from PostgreSQL"],
  );
  console.log(`migrate: schema ready, ${rowCount} row(s) added`);
} finally {
  await pool.end();
}
