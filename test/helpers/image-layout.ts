// Builds a container image's file system on disk without Docker: each stage of
// the Dockerfile gets a fresh directory standing for its root; WORKDIR, COPY
// (from the build context, honouring .dockerignore, or --from an earlier
// stage) and RUN are carried out there. The last stage's directory is what
// the image would hold, and nothing more.
//
// One substitution: a development `npm ci` (one without --omit=dev) links the
// repository's node_modules instead of downloading every dev dependency again;
// it only feeds the compiler. Production dependencies are installed for real,
// with the Dockerfile's own command.

import { execFile } from "node:child_process";
import { cp, mkdir, readFile, readdir, stat, symlink } from "node:fs/promises";
import { basename, dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import { dockerignore, parseCopy, parseDockerfile, parseEnv, parseExecForm, type Stage } from "./dockerfile.js";
import { ROOT, tempDir } from "./server.js";

const run = promisify(execFile);

export interface Image {
  /** Directory standing for the runtime stage's "/". */
  root: string;
  from: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  user: string | null;
  expose: string[];
  volumes: string[];
  /** Each stage's root, by name, to reuse for another layout of the same file. */
  stageRoots: Map<string, string>;
}

export interface LayoutOptions {
  context?: string;
  /** Stages already laid out (by name); they are reused instead of rebuilt. */
  reuse?: Map<string, string>;
}

export async function layoutImage(dockerfile: string, opts: LayoutOptions = {}): Promise<Image> {
  const context = opts.context ?? ROOT;
  const ignoreText = await readFile(join(context, ".dockerignore"), "utf8").catch(() => "");
  const ignored = dockerignore(ignoreText);
  const stages = parseDockerfile(dockerfile);
  const stageRoots = new Map(opts.reuse ?? []);
  let image: Image | null = null;
  for (const [index, stage] of stages.entries()) {
    const last = index === stages.length - 1;
    if (!last && stage.name && stageRoots.has(stage.name)) continue;
    image = await layoutStage(stage, { context, ignored, stageRoots });
    if (stage.name) stageRoots.set(stage.name, image.root);
  }
  return { ...image!, stageRoots };
}

interface StageContext {
  context: string;
  ignored: (path: string) => boolean;
  stageRoots: Map<string, string>;
}

async function layoutStage(stage: Stage, ctx: StageContext): Promise<Image> {
  const root = await tempDir("rs-image-");
  const image: Image = { root, from: stage.from, workdir: "/", env: {}, cmd: [], user: null, expose: [], volumes: [], stageRoots: ctx.stageRoots };
  const inImage = (p: string) => join(root, posix.resolve(image.workdir, p));
  for (const ins of stage.instructions) {
    const where = `Dockerfile line ${ins.line}`;
    switch (ins.op) {
      case "WORKDIR":
        image.workdir = posix.resolve(image.workdir, ins.args);
        await mkdir(join(root, image.workdir), { recursive: true });
        break;
      case "ENV":
        Object.assign(image.env, parseEnv(ins.args));
        break;
      case "COPY":
        await copy(ins.args, inImage, ctx, where);
        break;
      case "RUN":
        await runStep(ins.args, join(root, image.workdir), image.env, where);
        break;
      case "CMD":
        image.cmd = parseExecForm(ins.args);
        break;
      case "USER":
        image.user = ins.args;
        break;
      case "EXPOSE":
        image.expose.push(...ins.args.split(/\s+/));
        break;
      case "VOLUME":
        image.volumes.push(...(ins.args.startsWith("[") ? parseExecForm(ins.args) : ins.args.split(/\s+/)));
        break;
    }
  }
  return image;
}

async function copy(args: string, inImage: (p: string) => string, ctx: StageContext, where: string): Promise<void> {
  const c = parseCopy(args);
  const toDir = c.dest.endsWith("/") || c.sources.length > 1;
  for (const source of c.sources) {
    let from: string;
    let filter: (path: string) => boolean = () => true;
    if (c.from) {
      const stageRoot = ctx.stageRoots.get(c.from);
      if (!stageRoot) throw new Error(`${where}: COPY --from=${c.from} names no earlier stage`);
      from = join(stageRoot, posix.resolve("/", source));
    } else {
      const rel = posix.normalize(source).replace(/^\/+|\/+$/g, "");
      if (rel.startsWith("..")) throw new Error(`${where}: ${source} is outside the build context`);
      if (ctx.ignored(rel)) throw new Error(`${where}: ${source} is excluded by .dockerignore, so the build would fail`);
      from = join(ctx.context, rel);
      filter = (path) => !ctx.ignored(relative(ctx.context, path).split("\\").join("/"));
    }
    const info = await stat(from).catch(() => null);
    if (!info) throw new Error(`${where}: COPY source ${source} does not exist`);
    const dest = inImage(c.dest);
    const target = info.isDirectory() || !toDir ? dest : join(dest, basename(from));
    await mkdir(info.isDirectory() ? target : dirname(target), { recursive: true });
    if (info.isDirectory()) {
      // Docker copies a directory's contents, not the directory itself.
      for (const entry of await readdir(from)) {
        await cp(join(from, entry), join(target, entry), { recursive: true, filter, verbatimSymlinks: true });
      }
    } else {
      await cp(from, target, { filter });
    }
  }
}

async function runStep(command: string, cwd: string, env: Record<string, string>, where: string): Promise<void> {
  if (/^npm ci\b/.test(command) && !/--omit=dev\b/.test(command)) {
    await symlink(join(ROOT, "node_modules"), join(cwd, "node_modules"), "dir");
    return;
  }
  for (const word of command.split(/\s+/)) {
    if (word.startsWith("/")) throw new Error(`${where}: RUN uses an absolute path (${word}); the layout test runs it outside a container`);
  }
  try {
    await run("sh", ["-c", command], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${where}: RUN ${command} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}
