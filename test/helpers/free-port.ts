import { createServer } from "node:net";

/** A loopback port nothing listened on a moment ago, for a service a test starts. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", resolve);
  });
  const address = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}
