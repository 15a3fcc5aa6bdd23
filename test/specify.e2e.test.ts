// The Spec Kit client's algorithm (`specify init --template-url`), end to end
// over HTTP against the real server: with two versions stored, after an older
// version is re-uploaded, and in the middle of uploading a new release. Also:
// a release of 34 templates with MAX_PACKAGES=10 never leaves /latest incomplete.

import { request as httpRequest } from "node:http";
import t, { type Test } from "tap";
import { AGENTS, bytesFor, getJson, sha256, specifyDownload, templateNames, upload } from "./helpers/releases.js";
import { startServer, TOKEN } from "./helpers/server.js";

const SOME_AGENTS = ["claude", "gemini", "copilot", "cursor-agent", "q"];
const SCRIPTS = ["sh", "ps"];

async function expectAll(t: Test, templateUrl: string, expected: (ai: string, script: string) => string): Promise<void> {
  for (const ai of SOME_AGENTS) {
    for (const script of SCRIPTS) {
      const want = expected(ai, script);
      const got = await specifyDownload(templateUrl, ai, script);
      t.equal(got.name, want, `${ai}-${script} via ${new URL(templateUrl).pathname}`);
      t.equal(got.sha256, sha256(bytesFor(want)), `${want}: the bytes are the uploaded ones`);
    }
  }
}

t.test("specify's algorithm finds the newest template of every agent and script", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: "github/spec-kit" } });
  t.teardown(() => server.stop());
  const name = (version: string) => (ai: string, script: string) => `spec-kit-template-${ai}-${script}-${version}.zip`;
  const urls = [
    `${server.url}/latest`,
    `${server.url}/releases/latest`,
    `${server.url}/repos/github/spec-kit/releases/latest`,
    `${server.url}/api/v3/repos/github/spec-kit/releases/latest`,
  ];

  // v0.0.10 is uploaded before v0.0.9: upload time and string order both say v0.0.9.
  for (const n of templateNames("v0.0.10", SOME_AGENTS)) await upload(server, n);
  for (const n of templateNames("v0.0.9", SOME_AGENTS)) await upload(server, n);

  await t.test("two versions stored", async (t) => {
    for (const url of urls) await expectAll(t, url, name("v0.0.10"));
    const latest = await getJson(`${server.url}/latest`);
    t.equal(latest.body.tag_name, "v0.0.10");
    t.equal(latest.body.assets.length, SOME_AGENTS.length * 2, "one asset per family");
  });

  await t.test("after re-uploading the older version", async (t) => {
    await upload(server, "spec-kit-template-claude-sh-v0.0.9.zip", bytesFor("spec-kit-template-claude-sh-v0.0.9.zip"), true);
    await upload(server, "spec-kit-template-q-ps-v0.0.9.zip", bytesFor("spec-kit-template-q-ps-v0.0.9.zip"), true);
    await expectAll(t, urls[0], name("v0.0.10"));
    await expectAll(t, urls[3], name("v0.0.10"));
  });

  await t.test("mid-way through uploading a new release", async (t) => {
    const next = templateNames("v0.0.11", SOME_AGENTS);
    const done = new Set(next.slice(0, 5));
    for (const n of done) await upload(server, n);
    // And one more upload of the new release in flight: half its body sent.
    const inflight = next[5];
    const pending = startSlowUpload(server.url, inflight, bytesFor(inflight));
    await pending.halfway;
    const expected = (ai: string, script: string) => {
      const n = name("v0.0.11")(ai, script);
      return done.has(n) ? n : name("v0.0.10")(ai, script);
    };
    await expectAll(t, urls[0], expected);
    await expectAll(t, urls[2], expected);
    t.equal((await getJson(`${server.url}/latest`)).body.tag_name, "v0.0.11");
    t.equal(await pending.finish(), 200, "the in-flight upload completes");
    for (const n of next.slice(6)) await upload(server, n);
    await expectAll(t, urls[0], name("v0.0.11"));
  });
});

/** A multipart upload whose body is sent in two halves; `finish()` sends the rest. */
function startSlowUpload(base: string, name: string, bytes: Uint8Array) {
  const boundary = "----slow-upload-boundary";
  const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: application/zip\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const half = Math.floor(bytes.length / 2);
  const req = httpRequest(`${base}/upload`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "content-length": String(head.length + bytes.length + tail.length),
    },
    timeout: 30_000,
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
  const halfway = new Promise<void>((resolve) => {
    req.write(head);
    req.write(bytes.subarray(0, half), () => setTimeout(resolve, 100));
  });
  return {
    halfway,
    finish(): Promise<number> {
      req.end(Buffer.concat([bytes.subarray(half), tail]));
      return status;
    },
  };
}

t.test("34 templates with MAX_PACKAGES=10: /latest stays complete during and after the upload", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "10" } });
  t.teardown(() => server.stop());
  for (const n of templateNames("v0.0.89")) await upload(server, n);
  let latest = await getJson(`${server.url}/latest`);
  t.equal(latest.body.assets.length, 34, "the whole first release survives retention");

  for (const [i, n] of templateNames("v0.0.90").entries()) {
    await upload(server, n);
    latest = await getJson(`${server.url}/latest`);
    const names: string[] = latest.body.assets.map((a: { name: string }) => a.name);
    if (names.length !== 34) t.fail(`after ${i + 1} uploads /latest has ${names.length} assets`);
    if (names.filter((x) => x.endsWith("v0.0.90.zip")).length !== i + 1) t.fail(`after ${i + 1} uploads: ${names.join(" ")}`);
  }
  latest = await getJson(`${server.url}/latest`);
  t.equal(latest.body.assets.length, 34);
  t.equal(latest.body.tag_name, "v0.0.90");
  t.ok(latest.body.assets.every((a: { name: string }) => a.name.endsWith("v0.0.90.zip")));
  const packages = await getJson(`${server.url}/packages`);
  t.equal(packages.body.length, 34, "retention removed every older version: each is superseded");
  for (const ai of ["claude", "qoder", AGENTS[7]]) {
    for (const script of SCRIPTS) {
      t.equal((await specifyDownload(`${server.url}/latest`, ai, script)).name, `spec-kit-template-${ai}-${script}-v0.0.90.zip`);
    }
  }

  // Unversioned packages still follow the plain count rule.
  for (const n of ["a.txt", "b.txt", "c.txt"]) await upload(server, n);
  const after = (await getJson(`${server.url}/packages`)).body.map((p: { name: string }) => p.name);
  t.same(after.filter((n: string) => n.endsWith(".txt")), ["c.txt"], "older unversioned packages are deleted");
  t.equal(after.length, 35);
});
