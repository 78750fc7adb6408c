/**
 * Container operations through the Docker Engine API: what `hln up`, `status`, `logs` and
 * `down` need to converge an app's services, and nothing more. Answers the caller expects
 * (an object already gone, a container already started or stopped) are outcomes here,
 * not errors; every other failure names the endpoint, method and path.
 */
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { HlnError } from "../errors.js";
import { type DockerClient, DockerHttpError, httpStatus } from "./client.js";
import { labelQuery } from "./label-filter.js";
import { StdcopyDemuxer } from "./stdcopy.js";

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Created: number;
  Labels: Record<string, string>;
  State: string;
  Status: string;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

/**
 * `GET /containers/json`, of the containers that carry every one of `labels` (`k=v` or
 * `k`). Stopped ones are included unless `all` is false: an app's exited job or crashed
 * service is part of its state.
 */
export async function listContainers(
  docker: DockerClient,
  o: { labels?: string[]; all?: boolean; signal?: AbortSignal },
): Promise<ContainerSummary[]> {
  const query = [o.all === false ? "" : "all=1", labelQuery(o.labels)].filter(Boolean).join("&");
  return await docker.json<ContainerSummary[]>(
    "GET",
    `/containers/json${query ? `?${query}` : ""}`,
    {
      signal: o.signal,
    },
  );
}

export interface ContainerDetails {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  /** How often the restart policy has restarted it. */
  RestartCount: number;
  Config: {
    Image: string;
    Env: string[] | null;
    Labels: Record<string, string> | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    User?: string;
    WorkingDir?: string;
  };
  State: {
    Status: string;
    Running: boolean;
    Restarting: boolean;
    ExitCode: number;
    Error?: string;
    StartedAt: string;
    FinishedAt: string;
    Health?: {
      Status: "starting" | "healthy" | "unhealthy" | "none";
      FailingStreak: number;
      Log: { Start: string; End: string; ExitCode: number; Output: string }[] | null;
    };
  };
  HostConfig: {
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
  };
  NetworkSettings: {
    Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Networks?: Record<string, { IPAddress: string; Aliases?: string[] | null }>;
  };
}

/** `GET /containers/{id}/json`; undefined when there is no such container. */
export async function inspectContainer(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<ContainerDetails | undefined> {
  try {
    return await docker.json<ContainerDetails>(
      "GET",
      `/containers/${encodeURIComponent(id)}/json`,
      {
        signal,
      },
    );
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  }
}

/**
 * `POST /containers/create?name=NAME` with Docker's create JSON as `body`; resolves with
 * the new container's ID. A name another container holds is an E_USAGE error naming it:
 * it may be a container the user made, which hln must not remove on its own.
 */
export async function createContainer(
  docker: DockerClient,
  name: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<string> {
  const path = `/containers/create?name=${encodeURIComponent(name)}`;
  try {
    const { Id } = await docker.json<{ Id: string }>("POST", path, { body, signal });
    return Id;
  } catch (err) {
    if (httpStatus(err) === 409) throw nameTaken(docker, "POST", path, name, err);
    throw err;
  }
}

/** `POST /containers/{id}/start`; a container that already runs is fine (304). */
export async function startContainer(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await docker.json("POST", `/containers/${encodeURIComponent(id)}/start`, { signal });
  } catch (err) {
    if (httpStatus(err) !== 304) throw err;
  }
}

/**
 * `POST /containers/{id}/stop`: SIGTERM (or the image's stop signal), then SIGKILL after
 * `timeoutS` (the container's own stop timeout, else Docker's 10 s, when not given). A
 * container already stopped (304) or gone (404) is fine. The daemon answers only once
 * the container has stopped, so this goes on a connection of its own: over ssh the
 * grace period must not hold the connection every other request shares.
 */
export async function stopContainer(
  docker: DockerClient,
  id: string,
  o: { timeoutS?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const query = o.timeoutS === undefined ? "" : `?t=${Math.max(0, Math.ceil(o.timeoutS))}`;
  const path = `/containers/${encodeURIComponent(id)}/stop${query}`;
  try {
    await drain(
      await docker.stream("POST", path, { own: true, signal: o.signal }),
      docker,
      "POST",
      path,
      o.signal,
    );
  } catch (err) {
    const status = httpStatus(err);
    if (status !== 304 && status !== 404) throw err;
  }
}

/**
 * `POST /containers/{id}/kill` with SIGKILL: the container ends at once, and a stop
 * waiting out its grace period on the engine returns. One that is not running (409) or
 * gone (404) is fine.
 */
export async function killContainer(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await docker.json("POST", `/containers/${encodeURIComponent(id)}/kill?signal=KILL`, {
      signal,
    });
  } catch (err) {
    const status = httpStatus(err);
    if (status !== 409 && status !== 404) throw err;
  }
}

/**
 * `DELETE /containers/{id}`; a container already gone is fine. `force` kills a running
 * one. The container's anonymous volumes go with it unless `volumes: false`; Docker never
 * removes named volumes with a container, so an app's data stays.
 */
export async function removeContainer(
  docker: DockerClient,
  id: string,
  o: { force?: boolean; volumes?: false; signal?: AbortSignal } = {},
): Promise<void> {
  const query = [o.force ? "force=1" : "", o.volumes === false ? "v=0" : "v=1"]
    .filter(Boolean)
    .join("&");
  try {
    await docker.json("DELETE", `/containers/${encodeURIComponent(id)}?${query}`, {
      signal: o.signal,
    });
  } catch (err) {
    if (httpStatus(err) !== 404) throw err;
  }
}

/** `POST /containers/{id}/rename?name=NAME`; a name another container holds is an E_USAGE error naming it. */
export async function renameContainer(
  docker: DockerClient,
  id: string,
  name: string,
  signal?: AbortSignal,
): Promise<void> {
  const path = `/containers/${encodeURIComponent(id)}/rename?name=${encodeURIComponent(name)}`;
  try {
    await docker.json("POST", path, { signal });
  } catch (err) {
    if (httpStatus(err) === 409) throw nameTaken(docker, "POST", path, name, err);
    throw err;
  }
}

/**
 * `POST /containers/{id}/wait?condition=not-running`: resolves with the exit code once
 * the container is not running (at once for one that never started or already exited).
 * The answer comes when the container stops, however long that takes, so the request has
 * a connection of its own.
 */
export async function waitContainer(
  docker: DockerClient,
  id: string,
  signal?: AbortSignal,
): Promise<number> {
  const path = `/containers/${encodeURIComponent(id)}/wait?condition=not-running`;
  const res = await docker.stream("POST", path, { own: true, signal });
  const text = await drain(res, docker, "POST", path, signal);
  let answer: { StatusCode?: unknown; Error?: { Message?: string } | null };
  try {
    answer = JSON.parse(text);
  } catch (err) {
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: POST ${path}: the answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
      { cause: err },
    );
  }
  if (answer.Error?.Message)
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: POST ${path}: ${answer.Error.Message}`,
    );
  if (typeof answer.StatusCode !== "number")
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: POST ${path}: no StatusCode in the answer`,
    );
  return answer.StatusCode;
}

/**
 * `PUT /containers/{id}/archive?path=PATH`: unpacks the tar archive `tar` at `path` in the
 * container's filesystem. It works on a container that is created and not yet started,
 * which is how secret files get in before the process that reads them runs, without ever
 * being part of the container's configuration (`docker inspect` shows none of it).
 */
export async function putArchive(
  docker: DockerClient,
  id: string,
  path: string,
  tar: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const url = `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(path)}`;
  const res = await docker.stream("PUT", url, {
    headers: { "Content-Type": "application/x-tar", "Content-Length": String(tar.byteLength) },
    body: Readable.from([Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength)]),
    signal,
  });
  await drain(res, docker, "PUT", url, signal);
}

export interface LogLine {
  stream: "stdout" | "stderr";
  text: string;
  /** RFC3339Nano from Docker when timestamps */
  time?: string;
}

/**
 * `GET /containers/{id}/logs`, as lines. Without a TTY Docker frames stdout and stderr
 * apart (see stdcopy.ts); with one the two are already merged and every line is stdout.
 * The log ends when the container's log does, or, when following, when the container
 * stops; the signal ends it too, quietly, as Ctrl-C ends `docker logs -f`. Every log has
 * a connection of its own: a followed one can stay open for hours, and even a finite one
 * holds its connection until the caller has read it all, so on a shared connection (ssh)
 * a caller that reads two logs side by side (merging them by time) would wait forever.
 */
export function containerLogs(
  docker: DockerClient,
  id: string,
  o: LogOptions,
): AsyncIterable<LogLine> {
  return logsAt(docker, `/containers/${encodeURIComponent(id)}`, o);
}

export interface LogOptions {
  follow?: boolean;
  /** Unix seconds */
  since?: number;
  tail?: number | "all";
  timestamps?: boolean;
  /**
   * Swarm service and task logs only: each line starts with the task's identity
   * (`com.docker.swarm.node.id=…,…task.id=… `), after the time when timestamps are on.
   */
  details?: boolean;
  signal?: AbortSignal;
}

/**
 * The log of a container, or of a swarm service or task: `base` is `/containers/ID`,
 * `/services/ID` or `/tasks/ID`, which answer in the same framing.
 */
export async function* logsAt(
  docker: DockerClient,
  base: string,
  o: LogOptions,
): AsyncIterable<LogLine> {
  const query = new URLSearchParams({ stdout: "1", stderr: "1" });
  if (o.follow) query.set("follow", "1");
  if (o.since !== undefined) query.set("since", String(o.since));
  if (o.tail !== undefined) query.set("tail", String(o.tail));
  if (o.timestamps) query.set("timestamps", "1");
  if (o.details) query.set("details", "1");
  const path = `${base}/logs?${query}`;
  if (o.signal?.aborted) return;
  let res: IncomingMessage;
  try {
    res = await docker.stream("GET", path, { own: true, signal: o.signal });
  } catch (err) {
    if (o.signal?.aborted) return;
    throw err;
  }
  const lines = new LineSplitter(o.timestamps ?? false);
  let framing = framingOf(res);
  const demux = new StdcopyDemuxer((stream, payload) => {
    if (stream !== "stdin") lines.push(stream, payload, true);
  });
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      framing ??= looksFramed(chunk) ? "multiplexed" : "raw";
      if (framing === "raw") lines.push("stdout", chunk);
      else
        try {
          demux.push(chunk);
        } catch (err) {
          throw new HlnError(
            "E_ENGINE_PROTOCOL",
            `${docker.endpoint}: GET ${path}: ${(err as Error).message}`,
          );
        }
      yield* lines.take();
    }
    lines.end();
    yield* lines.take();
  } catch (err) {
    if (o.signal?.aborted) return;
    if (err instanceof HlnError) throw err;
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: GET ${path}: ${(err as Error).message ?? String(err)}`,
      { cause: err },
    );
  } finally {
    // A caller that stops reading early must not leave the request open.
    res.destroy();
  }
}

/**
 * How the log answer is framed. Since API 1.42 (Docker 23) the content type says so; an
 * older engine calls both kinds raw, and then the first bytes tell (undefined here).
 */
function framingOf(res: IncomingMessage): "multiplexed" | "raw" | undefined {
  const type = String(res.headers["content-type"] ?? "");
  if (type.includes("multiplexed-stream")) return "multiplexed";
  const [major = 0, minor = 0] = String(res.headers["api-version"] ?? "")
    .split(".")
    .map(Number);
  if (type.includes("raw-stream") && (major > 1 || (major === 1 && minor >= 42))) return "raw";
  return undefined;
}

/** A stdcopy frame header: stream 1 or 2 then three zero bytes, which no text starts with. */
function looksFramed(chunk: Buffer): boolean {
  return chunk.length >= 4 && (chunk[0] === 1 || chunk[0] === 2) && chunk.readUIntBE(1, 3) === 0;
}

const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** Cuts each stream's bytes into lines on their own: a line can arrive in several frames. */
class LineSplitter {
  readonly #timestamps: boolean;
  readonly #partial = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  #ready: LogLine[] = [];

  constructor(timestamps: boolean) {
    this.#timestamps = timestamps;
  }

  /** `message`: the bytes are one whole log message (a frame), so they start with its time. */
  push(stream: "stdout" | "stderr", bytes: Buffer, message = false): void {
    // Docker logs a line longer than 16 KiB in parts and, asked for timestamps, puts a time
    // before each part (moby daemon/logs.go): the line keeps the time of its first part.
    if (message && this.#timestamps && this.#partial[stream].length > 0) {
      const space = bytes.indexOf(0x20);
      if (space > 0 && stamp.test(bytes.subarray(0, space).toString("latin1")))
        bytes = bytes.subarray(space + 1);
    }
    let buf =
      this.#partial[stream].length > 0 ? Buffer.concat([this.#partial[stream], bytes]) : bytes;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      this.#line(stream, buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
    }
    this.#partial[stream] = Buffer.from(buf);
  }

  /** Hands out the last line of each stream even when no newline ended it. */
  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#partial[stream].length > 0) this.#line(stream, this.#partial[stream]);
      this.#partial[stream] = Buffer.alloc(0);
    }
  }

  take(): LogLine[] {
    const ready = this.#ready;
    this.#ready = [];
    return ready;
  }

  #line(stream: "stdout" | "stderr", bytes: Buffer): void {
    // A TTY ends lines with CRLF.
    let text = bytes.toString("utf8").replace(/\r$/, "");
    if (!this.#timestamps) {
      this.#ready.push({ stream, text });
      return;
    }
    // Docker puts the time and one space before every line when asked for timestamps.
    const space = text.indexOf(" ");
    const time = space < 0 ? text : text.slice(0, space);
    text = space < 0 ? "" : text.slice(space + 1);
    this.#ready.push({ stream, text, time });
  }
}

/** Reads a whole answer; a connection that breaks meanwhile is named as the request's. */
async function drain(
  res: IncomingMessage,
  docker: DockerClient,
  method: string,
  path: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  } catch (err) {
    // Node ends an answer cut by the signal with "aborted" (ECONNRESET), not an AbortError.
    if (signal?.aborted) throw new HlnError("E_ABORTED", "cancelled", { cause: signal.reason });
    const wrapped = HlnError.from(err, "E_ENGINE_PROTOCOL");
    if (wrapped.code === "E_ABORTED") throw wrapped;
    throw new HlnError(
      "E_ENGINE_PROTOCOL",
      `${docker.endpoint}: ${method} ${path}: ${wrapped.message}`,
      { cause: err },
    );
  }
  return Buffer.concat(chunks).toString("utf8");
}

function nameTaken(
  docker: DockerClient,
  method: string,
  path: string,
  name: string,
  cause: unknown,
): DockerHttpError {
  const holder = /by container "([0-9a-f]{12})/.exec((cause as Error).message)?.[1];
  return new DockerHttpError(
    409,
    `${docker.endpoint}: ${method} ${path}: the name "${name}" is taken by ${holder ? `container ${holder}` : "another container"}`,
    "E_USAGE",
    { cause },
  );
}
