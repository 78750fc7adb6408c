// The connection settings the API and the migration share. The password is read from the
// secret file hln (or compose) puts in the container, never from the environment.
import { readFileSync } from "node:fs";
import pg from "pg";

const passwordFile = process.env.DB_PASSWORD_FILE ?? "/run/secrets/db-password";

/** A pool on the app's database; initdb kept the file's first line, so that is the password. */
export function connect() {
  const password = readFileSync(passwordFile, "utf8").split(/\r?\n/)[0];
  return new pg.Pool({
    host: process.env.DB_HOST ?? "db",
    port: Number(process.env.DB_PORT ?? 5432),
    database: process.env.DB_NAME ?? "app",
    user: process.env.DB_USER ?? "postgres",
    password,
    max: 4,
    connectionTimeoutMillis: 5000,
  });
}
