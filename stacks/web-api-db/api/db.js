// How the API and the migration talk to PostgreSQL: Debian's psql, run as a child with an
// argv (no shell), so the image needs no npm, no driver and no compiler. The password is
// read from the secret file hln (or compose) puts in the container and handed to psql in a
// private pgpass file: never in the environment of the container, an argv, the image or a log.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const passwordFile = process.env.DB_PASSWORD_FILE ?? "/run/secrets/db-password";

/**
 * A client for the app's database. initdb kept the secret file's first line, so that is the
 * password. `query` runs one psql per call: the API answers a few requests, and a process
 * per query keeps no connection state to go stale when the database restarts.
 */
export function connect() {
  const password = readFileSync(passwordFile, "utf8").split(/\r?\n/)[0];
  // mkdtemp makes the directory 0700 and owned by this process's user (nobody in the image).
  const dir = mkdtempSync(join(tmpdir(), "api-pg-"));
  const passFile = join(dir, "pgpass");
  // pgpass fields are colon-separated; a ':' or '\' in the password must be escaped.
  writeFileSync(passFile, `*:*:*:*:${password.replace(/[\\:]/g, "\\$&")}\n`, { mode: 0o600 });

  const connection = [
    `--host=${process.env.DB_HOST ?? "db"}`,
    `--port=${process.env.DB_PORT ?? "5432"}`,
    `--username=${process.env.DB_USER ?? "postgres"}`,
    `--dbname=${process.env.DB_NAME ?? "app"}`,
  ];
  // Only the child sees PGPASSFILE; ~/.psqlrc is skipped (-X) so output stays as asked.
  const env = { ...process.env, PGPASSFILE: passFile, PGCONNECT_TIMEOUT: "5" };

  return {
    /**
     * Runs `sql` and resolves to psql's output: unaligned, tuples only, no decoration, so a
     * single value comes back as its text. `vars` become psql variables (-v name=value),
     * referenced in the SQL as :'name' (a quoted literal), never spliced into the text.
     * The SQL goes in on stdin because psql does not interpolate variables in -c.
     */
    query(sql, vars = {}, signal = AbortSignal.timeout(10_000)) {
      const args = ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", ...connection];
      for (const [name, value] of Object.entries(vars)) args.push("-v", `${name}=${value}`);
      return new Promise((resolve, reject) => {
        const child = execFile("psql", args, { env, signal }, (err, stdout, stderr) => {
          if (err) {
            // psql's own messages already start with "psql:".
            reject(new Error(stderr.trim() || `psql: ${err.message}`));
          } else {
            resolve(stdout.replace(/\n$/, ""));
          }
        });
        child.stdin.end(sql);
      });
    },
    /** Removes the pgpass file and its directory. */
    end() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
