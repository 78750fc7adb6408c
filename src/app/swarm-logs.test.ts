import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDetails, sourceName } from "./swarm-logs.js";

describe("swarm log lines", () => {
  it("splits the task's details off a line", () => {
    assert.deepEqual(
      parseDetails(
        "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 hello world",
      ),
      {
        details: {
          "com.docker.swarm.node.id": "n1",
          "com.docker.swarm.service.id": "s1",
          "com.docker.swarm.task.id": "t1",
        },
        text: "hello world",
      },
    );
  });

  it("reads query-escaped details, and a line without any", () => {
    assert.deepEqual(parseDetails("a=x%3Dy+z,b= text"), {
      details: { a: "x=y z", b: "" },
      text: "text",
    });
    assert.deepEqual(parseDetails(" plain line"), { details: {}, text: "plain line" });
    assert.deepEqual(parseDetails("com.docker.swarm.task.id=t1 "), {
      details: { "com.docker.swarm.task.id": "t1" },
      text: "",
    });
    // Not details: the text is kept whole.
    assert.deepEqual(parseDetails("GET /index.html 200"), {
      details: {},
      text: "GET /index.html 200",
    });
  });

  it("names a source by service, slot and node", () => {
    assert.equal(sourceName("api", 1, "node-a"), "api.1@node-a");
    assert.equal(sourceName("agent", undefined, "node-b"), "agent@node-b");
    assert.equal(sourceName("api", 2, ""), "api.2");
  });
});
