/**
 * A byte pipe into a container: `docker exec -i NAME buildctl dial-stdio`, done with the
 * Engine API instead of the CLI. This is how `docker-container://NAME` reaches a
 * BuildKit that runs in a container, on a local or remote (ssh://) Docker engine.
 */
import { Duplex } from "node:stream";
import { HlnError } from "../errors.js";
import type { Dialer } from "../transport/dialer.js";
import { StderrTail } from "../transport/stderr-tail.js";
import type { DockerClient } from "./client.js";
import { StdcopyDemuxer } from "./stdcopy.js";

/**
 * Each dial runs `argv` in `container` with stdin attached and returns its stdout as the
 * readable side, stdin as the writable side. stderr is kept for the error shown when the
 * command fails.
 *
 * @example
 * const dialer = execStdioDialer(docker, "hln-buildkitd", ["buildctl", "dial-stdio"]);
 * const conn = createBuildkitConnection({ endpoint: dialer.endpoint, connect: () => dialer.dial() });
 */
export function execStdioDialer(
  docker: DockerClient,
  container: string,
  argv: readonly string[],
): Dialer {
  const endpoint = `docker-container://${container} (on ${docker.endpoint})`;
  return {
    endpoint,
    async dial(o = {}) {
      let id: string;
      try {
        ({ Id: id } = await docker.json<{ Id: string }>(
          "POST",
          `/containers/${encodeURIComponent(container)}/exec`,
          {
            body: {
              AttachStdin: true,
              AttachStdout: true,
              AttachStderr: true,
              Tty: false,
              Cmd: argv,
            },
            signal: o.signal,
          },
        ));
      } catch (err) {
        throw explainCreate(endpoint, container, err);
      }
      const raw = await docker.upgrade(`/exec/${id}/start`, {}, o.signal, {
        protocol: "tcp",
        body: { Detach: false, Tty: false },
      });
      return new ExecStream(raw, endpoint);
    },
  };
}

function explainCreate(endpoint: string, container: string, err: unknown): HlnError {
  const message = err instanceof Error ? err.message : String(err);
  if (/HTTP 404/.test(message))
    return new HlnError(
      "E_ENGINE_UNREACHABLE",
      `cannot reach ${endpoint}: no such container "${container}"`,
      {
        cause: err,
      },
    );
  if (/HTTP 409/.test(message))
    return new HlnError(
      "E_ENGINE_UNREACHABLE",
      `cannot reach ${endpoint}: container "${container}" is not running`,
      { cause: err },
    );
  return HlnError.from(err, "E_ENGINE_UNREACHABLE");
}

/** The exec's connection with stdout demultiplexed out of Docker's framing. */
class ExecStream extends Duplex {
  readonly #raw: Duplex;
  readonly #stderr = new StderrTail();

  constructor(raw: Duplex, endpoint: string) {
    super({ allowHalfOpen: false });
    this.#raw = raw;
    const demux = new StdcopyDemuxer((stream, payload) => {
      if (stream === "stdout") {
        if (!this.push(payload)) raw.pause();
      } else if (stream === "stderr") {
        this.#stderr.push(payload);
      }
    });
    raw.on("data", (chunk: Buffer) => {
      try {
        demux.push(chunk);
      } catch (err) {
        this.destroy(new HlnError("E_ENGINE_PROTOCOL", `${endpoint}: ${(err as Error).message}`));
      }
    });
    raw.once("end", () => {
      const why = this.#stderr.lastLine;
      // A command that failed says why on stderr; a clean EOF is just the end.
      if (why)
        this.destroy(new HlnError("E_ENGINE_UNREACHABLE", `cannot reach ${endpoint}: ${why}`));
      else this.push(null);
    });
    raw.once("error", (err) => this.destroy(err));
  }

  override _read(): void {
    this.#raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#raw.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#raw.destroy();
    cb(err);
  }
}
